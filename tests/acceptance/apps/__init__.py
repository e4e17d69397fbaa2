"""Small apps the acceptance tests run with ``stormproof worker module:attribute``."""
