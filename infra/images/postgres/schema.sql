-- The lab's citizen database. Every citizen row is SYNTHETIC (generated test data,
-- never real personal data): ids CD-000001.., names "Công dân thử nghiệm NNNN".
CREATE TABLE IF NOT EXISTS citizens (
    id            text PRIMARY KEY,
    full_name     text NOT NULL,
    date_of_birth date NOT NULL,
    synthetic     boolean NOT NULL DEFAULT true
);

CREATE TABLE IF NOT EXISTS dossiers (
    id           serial PRIMARY KEY,
    unit_code    text NOT NULL,
    service_code text NOT NULL,
    citizen_id   text NOT NULL REFERENCES citizens (id),
    phone        text NOT NULL,
    submitted_at timestamptz NOT NULL DEFAULT now(),
    status       text NOT NULL DEFAULT 'received'
);
CREATE INDEX IF NOT EXISTS dossiers_unit_service ON dossiers (unit_code, service_code);

INSERT INTO citizens (id, full_name, date_of_birth)
SELECT format('CD-%s', lpad(n::text, 6, '0')),
       format('Công dân thử nghiệm %s', lpad(n::text, 4, '0')),
       date '1950-01-01' + (n * 17) % 20000
FROM generate_series(1, 1000) AS n
ON CONFLICT (id) DO NOTHING;
