"""invoice_demand_refresh: four DynamoDB tables to Postgres raw.*, then the curated views."""
