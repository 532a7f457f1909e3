-- Rows of the tables both layouts of schema version 1 share, loaded after
-- schema-v1.sql or schema-v1-later.sql (which hold each layout's events).
INSERT INTO attempts (id, campaign_id, message_id, phone, template_name, status, error_code,
                      attempt, sent_at, vars)
VALUES (1, 'c1', 'wamid.A1', '441000000001', 'winter_sale', 'failed', 131049, 1, 1795400000,
        '["Asha","CODE1"]'),
       (2, 'c1', 'wamid.A2', '441000000002', 'winter_sale', 'delivered', NULL, 1, 1795400060,
        NULL);
INSERT INTO fallbacks (id, campaign_id, phone, attempt_id, template_name, scenario, state,
                       state_at, created_at)
VALUES (7, 'c1', '441000000001', 1, 'winter_sale', 'S3', 'utility_delivered', 1795485600,
        1795485000),
       (8, 'c1', '441000000003', 1, 'winter_sale', 'S3', 'pending', 1795485000, 1795485000);
PRAGMA user_version = 1;
