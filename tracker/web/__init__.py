"""Web blueprints: public pages, admin pages, API and webhooks. Views are thin."""
