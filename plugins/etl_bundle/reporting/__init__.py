"""reporting_seeder: manifest-driven materialized-view refresh per agency."""
