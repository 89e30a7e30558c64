-- Deterministic demo data for dram: a customer-analytics event table (1,000,000 rows, Parquet,
-- four files by quarter) and a small CSV reference table. Every value derives from the row
-- number through hash(), so every run writes the same rows. Run from examples/demo/.
-- h(i, salt): a deterministic non-negative BIGINT per row and purpose.
CREATE TEMP MACRO h(i, salt) AS CAST(hash(i, salt) % 1000000007 AS BIGINT);

CREATE TEMP TABLE events AS
SELECT
  i AS event_id,
  printf('t%02d', 1 + h(i, 'tenant') % 20) AS tenant_id,
  DATE '2024-01-01' + CAST(h(i, 'day') % 366 AS INTEGER) AS day,
  printf('p%02d', 1 + h(i, 'product') % 12) AS product,
  (['us-east', 'us-west', 'eu-west', 'eu-central', 'ap-south', 'ap-east'])[1 + h(i, 'region') % 6] AS region,
  (['web', 'app', 'store', 'partner'])[1 + h(i, 'channel') % 4] AS channel,
  CAST(1 + h(i, 'units') % 20 AS INTEGER) AS units,
  CAST((h(i, 'revenue') % 500000) / 100.0 AS DECIMAL(12, 2)) AS revenue,
  round((h(i, 'cost') % 300000) / 100.0, 2) AS cost,
  CAST(h(i, 'session') % 3600 AS INTEGER) AS session_seconds,
  {
    'device': (['desktop', 'mobile', 'tablet'])[1 + h(i, 'device') % 3],
    'os': (['linux', 'macos', 'windows', 'ios', 'android'])[1 + h(i, 'os') % 5],
    'tags': list_slice(['promo', 'returning', 'mobile-first', 'beta'], 1, CAST(h(i, 'tags') % 4 AS INTEGER))
  } AS attrs,
  TIMESTAMP '2024-01-01 00:00:00' + to_seconds(CAST(h(i, 'ts') % 31622400 AS BIGINT)) AS updated_at
FROM range(1000000) AS r(i);

COPY (SELECT * FROM events WHERE day <  DATE '2024-04-01' ORDER BY event_id)
  TO 'data/events/events_2024q1.parquet' (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT * FROM events WHERE day >= DATE '2024-04-01' AND day < DATE '2024-07-01' ORDER BY event_id)
  TO 'data/events/events_2024q2.parquet' (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT * FROM events WHERE day >= DATE '2024-07-01' AND day < DATE '2024-10-01' ORDER BY event_id)
  TO 'data/events/events_2024q3.parquet' (FORMAT parquet, COMPRESSION zstd);
COPY (SELECT * FROM events WHERE day >= DATE '2024-10-01' ORDER BY event_id)
  TO 'data/events/events_2024q4.parquet' (FORMAT parquet, COMPRESSION zstd);

COPY (
  SELECT * FROM (VALUES
    ('us-east', 'US East', 'US', 'America/New_York', DATE '2019-03-01'),
    ('us-west', 'US West', 'US', 'America/Los_Angeles', DATE '2019-06-15'),
    ('eu-west', 'EU West', 'IE', 'Europe/Dublin', DATE '2020-01-20'),
    ('eu-central', 'EU Central', 'DE', 'Europe/Berlin', DATE '2021-05-04'),
    ('ap-south', 'Asia Pacific South', 'IN', 'Asia/Kolkata', DATE '2022-09-12'),
    ('ap-east', 'Asia Pacific East', 'JP', 'Asia/Tokyo', DATE '2023-02-28')
  ) AS t(region, name, country, timezone, launched)
) TO 'data/regions/regions.csv' (HEADER true);
