/** Name pools for the simulated shop. Realistic names make the logs and alerts read like a real estate of services. */

export const EDGE_NAMES = ['api-gateway', 'web-frontend', 'mobile-bff', 'partner-gateway'] as const;

/** API domains; an API is `<domain>-api`, its own database `<domain>-db`. */
export const API_DOMAINS = [
  'checkout',
  'cart',
  'catalog',
  'payments',
  'orders',
  'inventory',
  'pricing',
  'users',
  'auth',
  'shipping',
  'recommendations',
  'reviews',
  'notifications',
  'promotions',
  'loyalty',
  'tax',
  'fraud',
  'accounts',
  'wishlist',
  'media',
  'invoices',
  'returns',
  'geo',
  'ledger',
  'quotes',
  'subscriptions',
] as const;

export const WORKER_NAMES = [
  'email-worker',
  'fulfillment-worker',
  'invoice-worker',
  'search-indexer',
  'analytics-worker',
  'refund-worker',
  'image-resizer',
  'webhook-dispatcher',
] as const;

export const REDIS_NAMES = ['session-cache', 'cart-redis', 'rate-limit-redis'] as const;
export const QUEUE_NAMES = ['orders-queue', 'events-kafka'] as const;
export const SEARCH_NAMES = ['catalog-search'] as const;
export const SPARE_DB_NAMES = ['main-db', 'analytics-db', 'audit-db', 'reporting-db'] as const;

/** Third-party providers some APIs call (not in the topology: the provider itself is outside the estate). */
export const EXTERNALS: Readonly<Record<string, string>> = {
  payments: 'api.stripe-gateway.example.com',
  shipping: 'api.parcel-carrier.example.net',
  notifications: 'api.mailrelay.example.io',
  tax: 'api.taxrates.example.com',
  fraud: 'score.riskcheck.example.com',
  geo: 'maps.geocode.example.org',
};

export const TEAMS = [
  'team-checkout',
  'team-payments',
  'team-platform',
  'team-data',
  'team-growth',
  'team-identity',
  'team-fulfillment',
  'team-search',
  'team-sre',
] as const;

export const AUTHORS = ['alice.chen', 'bob.okafor', 'carla.mendes', 'dmitri.ivanov', 'eve.larsen', 'farah.haddad', 'gil.cohen', 'hana.sato', 'argocd-bot', 'renovate[bot]'] as const;

export const HTTP_PATHS = {
  edge: ['/', '/products', '/products/{id}', '/cart', '/checkout', '/account', '/search', '/api/v2/session', '/static/app.{hex}.js'],
  api: ['/v1/{dom}', '/v1/{dom}/{id}', '/v1/{dom}/{id}/items', '/v1/{dom}/search', '/internal/{dom}/batch', '/healthz'],
} as const;

export const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'shop-ios/5.12.0 (iPhone14,2; iOS 17.3)',
  'shop-android/5.11.3 (Pixel 7; Android 14)',
  'okhttp/4.12.0',
  'curl/8.5.0',
] as const;
