-- fixture.sql: the store behind test_report's golden tables (run into a
-- fresh, migrated store).  As of 2026-11-25T02:00:00Z (1795572000).
--
-- Two USD rate cards (a third, mid-campaign, comes with camp_mid at the
-- end); five markets, one of them ("Rest of Asia Pacific")
-- priced only on the July card, so its November charges are unpriced, and
-- a phone that matches no market at all.  Campaign camp_a holds one of
-- each kind of row the sheets treat differently: every outcome, plan's
-- reasons and one reason plan no longer has, fallbacks in several states
-- and scenarios (and one of each unknown), webhook and estimated pricing,
-- a resend, a split session, an S8 that did not convert, hostile text.  Campaign "b/x" is small, and
-- its id must be sanitised.
INSERT INTO markets (prefix, since, market) VALUES
  ('1', '', 'North America'), ('44', '', 'United Kingdom'), ('91', '', 'India'),
  ('880', '', 'Rest of Asia Pacific'), ('55', '', 'Brazil');
INSERT INTO files (id, kind, path, sha256, size, rows, rejects, imported_at) VALUES
  (1, 'markets', 'fixtures/markets.csv', 'aa11', 100, 5, 0, 1795000000),
  (2, 'rates', 'rates/USD_2026-07-01.csv', 'bb22', 200, 5, 0, 1795000100),
  (3, 'rates', 'rates/USD_2026-10-01.csv', 'cc33', 200, 4, 1, 1795000200),
  (4, 'templates', 'catalog/templates.json', 'dd44', 300, 2, 0, 1795100000),
  (5, 'deliveries', 'exports/camp_a.csv', 'ee55', 4000, 14, 1, 1795150000),
  (6, 'deliveries', 'exports/b_x.csv', 'ff66', 400, 2, 0, 1795150100),
  (7, 'events', 'inbox/events-1.jsonl', '0077', 5000, 20, 0, 1795500000);
INSERT INTO rate_cards (id, currency, effective, file_id) VALUES
  (1, 'USD', '2026-07-01', 2), (2, 'USD', '2026-10-01', 3);
INSERT INTO rates (card_id, market, marketing, utility, authentication, authentication_intl,
                   service) VALUES
  (1, 'North America', 25000, 4000, 4000, NULL, NULL),
  (1, 'United Kingdom', 52900, 2200, 2200, NULL, NULL),
  (1, 'India', 10700, 1400, 1400, 28000, NULL),
  (1, 'Rest of Asia Pacific', 73200, 11300, 11300, NULL, NULL),
  (1, 'Brazil', 62500, 6800, 6800, NULL, NULL),
  (2, 'North America', 25000, 3400, 3400, NULL, NULL),
  (2, 'United Kingdom', 52900, 2200, 2200, NULL, 2200),
  (2, 'India', 11800, 1400, 1400, 28000, 1300),
  (2, 'Brazil', 62500, 6800, 6800, NULL, NULL);
INSERT INTO campaigns (campaign_id, name, fallback) VALUES
  ('camp_a', '=HYPERLINK("http://x","Winter sale")', 1);
INSERT INTO templates (id, name, language, status, category, json) VALUES
  (1, 'winter_sale', 'en_US', 'APPROVED', 'MARKETING', '{}'),
  (2, 'fallback_permission', 'en_US', 'APPROVED', 'UTILITY', '{}');

-- camp_a: broadcast on 2026-11-20T02:00:00Z (1795140000).
INSERT INTO attempts (id, campaign_id, message_id, phone, campaign_name, template_name,
                      template_language, status, error_code, attempt, sent_at, file_id) VALUES
  (1, 'camp_a', 'w.a1', '919800000001', 'Winter', 'winter_sale', 'en_US', 'delivered', NULL, 1, 1795140000, 5),
  (2, 'camp_a', 'w.a2', '447700900002', 'Winter', 'winter_sale', 'en_US', 'failed', 131049, 1, 1795140000, 5),
  (3, 'camp_a', 'w.a3', '14155550003', 'Winter', 'winter_sale', 'en_US', 'failed', 131049, 1, 1795140000, 5),
  (4, 'camp_a', 'w.a4', '919800000004', 'Winter', 'winter_sale', 'en_US', 'failed', 131049, 1, 1795140000, 5),
  (5, 'camp_a', 'w.a5', '8801700000005', 'Winter', 'winter_sale', 'en_US', 'failed', 131049, 1, 1795140000, 5),
  (6, 'camp_a', 'w.a6', '919800000006', 'Winter', 'winter_sale', 'en_US', 'failed', 131050, 1, 1795140000, 5),
  (7, 'camp_a', 'w.a7', '919800000007', 'Winter', 'winter_sale', 'en_US', 'failed', 131026, 1, 1795140000, 5),
  (8, 'camp_a', 'w.a8', '9912345678', 'Winter', 'winter_sale', 'en_US', 'failed', 131049, 1, 1795140000, 5),
  (9, 'camp_a', 'w.a9', '447700900009', 'Winter', 'winter_sale', 'en_US', 'failed', 131049, 1, 1795140000, 5),
  (10, 'camp_a', 'w.a9r', '447700900009', 'Winter', 'winter_sale', 'en_US', 'read', NULL, 2, 1795226400, 5),
  (11, 'camp_a', 'w.a10', '14155550010', 'Winter', 'winter_sale', 'en_US', 'failed', 131049, 1, 1795140000, 5),
  (12, 'camp_a', 'w.a11', '5511900000011', 'Winter', 'winter_sale', 'en_US', 'failed', 131049, 1, 1795140000, 5),
  (13, 'camp_a', 'w.a12', '919800000012', 'Winter', 'winter_sale', 'en_US', 'sent', NULL, 1, 1795140000, 5),
  (14, 'camp_a', 'w.a13', '919800000013', 'Winter', 'winter_sale', 'en_US', 'failed', 131049, 1, 1795140000, 5);
INSERT INTO recipients (campaign_id, phone, outcome, reason, attempts, last_attempt_id) VALUES
  ('camp_a', '919800000001', 'delivered', NULL, 1, 1),
  ('camp_a', '447700900002', 'fallback', NULL, 1, 2),
  ('camp_a', '14155550003', 'fallback', NULL, 1, 3),
  ('camp_a', '919800000004', 'fallback', NULL, 1, 4),
  ('camp_a', '8801700000005', 'fallback', NULL, 1, 5),
  ('camp_a', '919800000006', 'excluded', 'opted_out', 1, 6),
  ('camp_a', '919800000007', 'excluded', 'no_longer_a_rule', 1, 7),
  ('camp_a', '9912345678', 'fallback', NULL, 1, 8),
  ('camp_a', '447700900009', 'recovered_by_retry', NULL, 2, 10),
  ('camp_a', '14155550010', 'fallback', NULL, 1, 11),
  ('camp_a', '5511900000011', 'excluded:invalid_phone', NULL, 1, 12),
  ('camp_a', '919800000012', 'in_flight', NULL, 1, 13),
  ('camp_a', '919800000013', 'awaiting_retries', NULL, 1, 14);
-- Fallbacks planned 2026-11-21T02:00:00Z (1795226400).
INSERT INTO fallbacks (id, campaign_id, phone, attempt_id, template_name, template_language,
                       scenario, state, state_at, created_at, utility_sent_at,
                       utility_delivered_at, consented_at, declined_at, session_sent_at,
                       converted_at) VALUES
  (1, 'camp_a', '447700900002', 2, 'winter_sale', 'en_US', 'S3', 'converted', 1795240800,
   1795226400, 1795226460, 1795226520, 1795230000, NULL, 1795230060, 1795240800),
  (2, 'camp_a', '14155550003', 3, 'winter_sale', 'en_US', 'S1', 'session_sent', 1795233660,
   1795226400, 1795226460, 1795226520, 1795233600, NULL, 1795233660, NULL),
  (3, 'camp_a', '919800000004', 4, 'winter_sale', 'en_US', 'S8', 'utility_delivered', 1795226520,
   1795226400, 1795226460, 1795226520, NULL, NULL, NULL, NULL),
  (4, 'camp_a', '8801700000005', 5, CAST(X'77696E746572FF5F73616C65' AS TEXT), 'en_US', 'S2',
   'declined', 1795227000, 1795226400, 1795226460, 1795226520, NULL, 1795227000, NULL, NULL),
  (5, 'camp_a', '9912345678', 8, 'winter_sale', 'en_US', 'S9', 'mystery', 1795226400,
   1795226400, NULL, NULL, NULL, NULL, NULL, NULL),
  (6, 'camp_a', '14155550010', 11, 'winter_sale', 'en_US', 'S5', 'converted', 1795250000,
   1795226400, 1795226460, 1795226520, 1795240000, NULL, 1795240060, 1795250000);
INSERT INTO sends (id, fallback_id, kind, part, n, callback, body, state, sent_at, resend_of,
                   delivery, delivered_at, read_at, pricing_billable, pricing_category) VALUES
  -- 1: utility and session priced by webhooks
  (1, 1, 'u', 1, 1, 'suf:1:u1', '{}', 'sent', 1795226460, NULL, 'read', 1795226520, 1795226600, 1, 'utility'),
  (2, 1, 's', 1, 1, 'suf:1:s1', '{}', 'sent', 1795230060, NULL, 'delivered', 1795240800, NULL, 1, 'service'),
  -- 2: estimated; the session part is not delivered yet
  (3, 2, 'u', 1, 1, 'suf:2:u1', '{}', 'sent', 1795226460, NULL, 'delivered', 1795226520, NULL, NULL, NULL),
  (4, 2, 's', 1, 1, 'suf:2:s1', '{}', 'sent', 1795233660, NULL, 'sent', NULL, NULL, NULL, NULL),
  -- 3: the utility message, a resend after an unknown outcome
  (5, 3, 'u', 1, 1, 'suf:3:u1', '{}', 'unknown', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (6, 3, 'u', 1, 2, 'suf:3:u2', '{}', 'sent', 1795226460, 5, 'delivered', 1795226520, NULL, NULL, NULL),
  -- 4: a market with no rate on the November card: unpriced
  (7, 4, 'u', 1, 1, 'suf:4:u1', '{}', 'sent', 1795226460, NULL, 'delivered', 1795226520, NULL, NULL, NULL),
  -- 6: a session in two parts, one webhook-priced: "mixed"
  (8, 6, 'u', 1, 1, 'suf:6:u1', '{}', 'sent', 1795226460, NULL, 'delivered', 1795226520, NULL, NULL, NULL),
  (9, 6, 's', 1, 1, 'suf:6:s1', '{}', 'sent', 1795240060, NULL, 'delivered', 1795249000, NULL, 1, 'service'),
  (10, 6, 's', 2, 2, 'suf:6:s2', '{}', 'sent', 1795240070, NULL, 'read', 1795250000, 1795250100, NULL, NULL);

-- camp_a, fallback 61: an S8 whose first session part was delivered and
-- whose second failed.  Not a conversion: the per_conversion policy does not
-- bill its session; Meta's view does.
INSERT INTO attempts (id, campaign_id, message_id, phone, campaign_name, template_name,
                      template_language, status, error_code, attempt, sent_at, file_id) VALUES
  (61, 'camp_a', 'w.a61', '919800000061', 'Winter', 'winter_sale', 'en_US', 'failed', 131049, 1, 1795140000, 5);
INSERT INTO recipients (campaign_id, phone, outcome, reason, attempts, last_attempt_id) VALUES
  ('camp_a', '919800000061', 'fallback', NULL, 1, 61);
INSERT INTO fallbacks (id, campaign_id, phone, attempt_id, template_name, template_language,
                       scenario, state, state_at, created_at, utility_sent_at,
                       utility_delivered_at, consented_at, declined_at, session_sent_at,
                       converted_at) VALUES
  (61, 'camp_a', '919800000061', 61, 'winter_sale', 'en_US', 'S8', 'session_failed', 1795231000,
   1795226400, 1795226460, 1795226520, 1795230000, NULL, 1795230060, NULL);
INSERT INTO sends (id, fallback_id, kind, part, n, callback, body, state, sent_at, resend_of,
                   delivery, delivered_at, read_at, pricing_billable, pricing_category) VALUES
  (61, 61, 'u', 1, 1, 'suf:61:u1', '{}', 'sent', 1795226460, NULL, 'delivered', 1795226520, NULL, NULL, NULL),
  (62, 61, 's', 1, 1, 'suf:61:s1', '{}', 'sent', 1795230060, NULL, 'delivered', 1795230100, NULL, 1, 'service'),
  (63, 61, 's', 2, 2, 'suf:61:s2', '{}', 'sent', 1795230070, NULL, 'failed', NULL, NULL, NULL, NULL);

-- "b/x": one delivered recipient, one pending fallback, its name from the
-- export.
INSERT INTO attempts (id, campaign_id, message_id, phone, campaign_name, template_name,
                      template_language, status, error_code, attempt, sent_at, file_id) VALUES
  (21, 'b/x', 'w.b1', '919800000021', 'Spring', 'winter_sale', 'en_US', 'read', NULL, 1, 1795140000, 6),
  (22, 'b/x', 'w.b2', '919800000022', 'Spring', 'winter_sale', 'en_US', 'failed', 131049, 1, 1795140000, 6);
INSERT INTO recipients (campaign_id, phone, outcome, reason, attempts, last_attempt_id) VALUES
  ('b/x', '919800000021', 'delivered', NULL, 1, 21),
  ('b/x', '919800000022', 'fallback', NULL, 1, 22);
INSERT INTO fallbacks (id, campaign_id, phone, attempt_id, template_name, template_language,
                       scenario, state, state_at, created_at) VALUES
  (7, 'b/x', '919800000022', 22, 'winter_sale', 'en_US', 'S1', 'pending', 1795226400, 1795226400);
-- Two held back, each with its words in the Fallbacks sheet: one blocked
-- by its permission template, one cancelled by the operator.
INSERT INTO attempts (id, campaign_id, message_id, phone, campaign_name, template_name,
                      template_language, status, error_code, attempt, sent_at, file_id) VALUES
  (23, 'b/x', 'w.b3', '919800000023', 'Spring', 'winter_sale', 'en_US', 'failed', 131049, 1, 1795140000, 6),
  (24, 'b/x', 'w.b4', '919800000024', 'Spring', 'winter_sale', 'en_US', 'failed', 131049, 1, 1795140000, 6);
INSERT INTO recipients (campaign_id, phone, outcome, reason, attempts, last_attempt_id) VALUES
  ('b/x', '919800000023', 'fallback', NULL, 1, 23),
  ('b/x', '919800000024', 'fallback', NULL, 1, 24);
INSERT INTO fallbacks (id, campaign_id, phone, attempt_id, template_name, template_language,
                       scenario, state, state_at, created_at, reason, reason_detail) VALUES
  (10, 'b/x', '919800000023', 23, 'winter_sale', 'en_US', 'S1', 'blocked', 1795230000, 1795226400,
   'template_unusable', 'permission template ''fallback_permission'' (en_US) is PAUSED, not APPROVED'),
  (11, 'b/x', '919800000024', 24, 'winter_sale', 'en_US', 'S1', 'cancelled', 1795230000, 1795226400,
   'cancelled', 'cancelled by the operator');

-- The recipients left out (the Excluded recipients and Waiting recipients
-- sheets): what plan wrote of them, and camp_a's own retry settings (2
-- auto-retries, 12 h apart), so its awaiting recipient becomes eligible at
-- its last attempt + 12 h + the default 6 h grace: 2026-11-20T20:00:00Z.
UPDATE campaigns SET max_auto_retries = 2, retry_interval_hours = 12 WHERE campaign_id = 'camp_a';
UPDATE recipients SET detail = 'a rule of an older suf, kept as it was' WHERE phone = '919800000007';
UPDATE recipients SET last_attempt_at = 1795140000,
  detail = 'auto-retries not over: 1 of 3 attempts; waits until 2026-11-20T20:00:00Z'
  WHERE phone = '919800000013';

-- camp_mid: a rate card that changes in the middle of a campaign.  A third
-- card takes effect on 2026-11-22, and on that day '880' leaves "Rest of
-- Asia Pacific" for "Bangladesh" (fixture dates, not Meta's): the India
-- broadcasts of 11-20 cost 0.0118, those of 11-22 cost 0.0130, and each
-- charge is placed in its market on its own delivery day, never the as-of
-- day's (so camp_a's 11-21 charge of 8801700000005 stays in Rest of Asia
-- Pacific).
INSERT INTO markets (prefix, since, market) VALUES ('880', '2026-11-22', 'Bangladesh');
INSERT INTO files (id, kind, path, sha256, size, rows, rejects, imported_at) VALUES
  (8, 'rates', 'rates/USD_2026-11-22.csv', '8888', 200, 4, 0, 1795000300),
  (9, 'deliveries', 'exports/camp_mid.csv', '9999', 600, 6, 0, 1795320000);
INSERT INTO rate_cards (id, currency, effective, file_id) VALUES (3, 'USD', '2026-11-22', 8);
INSERT INTO rates (card_id, market, marketing, utility, authentication, authentication_intl,
                   service) VALUES
  (3, 'North America', 25000, 3400, 3400, NULL, NULL),
  (3, 'United Kingdom', 52900, 2200, 2200, NULL, 2200),
  (3, 'India', 13000, 1600, 1600, 28000, 1500),
  (3, 'Bangladesh', 36400, 5700, 5700, 50000, 5700);
INSERT INTO campaigns (campaign_id, name, fallback) VALUES ('camp_mid', 'Mid-period card', 1);
-- Broadcast on 11-20 (1795140000) and 11-22 (1795312800).
INSERT INTO attempts (id, campaign_id, message_id, phone, campaign_name, template_name,
                      template_language, status, error_code, attempt, sent_at, file_id) VALUES
  (31, 'camp_mid', 'w.m1', '919800000031', 'Mid', 'winter_sale', 'en_US', 'delivered', NULL, 1, 1795140000, 9),
  (32, 'camp_mid', 'w.m2', '919800000032', 'Mid', 'winter_sale', 'en_US', 'read', NULL, 1, 1795140000, 9),
  (33, 'camp_mid', 'w.m3', '919800000033', 'Mid', 'winter_sale', 'en_US', 'delivered', NULL, 1, 1795312800, 9),
  (34, 'camp_mid', 'w.m4', '919800000034', 'Mid', 'winter_sale', 'en_US', 'delivered', NULL, 1, 1795312800, 9),
  (35, 'camp_mid', 'w.m5', '8801700000035', 'Mid', 'winter_sale', 'en_US', 'failed', 131049, 1, 1795140000, 9),
  (36, 'camp_mid', 'w.m6', '919800000036', 'Mid', 'winter_sale', 'en_US', 'failed', 131049, 1, 1795140000, 9);
INSERT INTO recipients (campaign_id, phone, outcome, reason, attempts, last_attempt_id) VALUES
  ('camp_mid', '919800000031', 'delivered', NULL, 1, 31),
  ('camp_mid', '919800000032', 'delivered', NULL, 1, 32),
  ('camp_mid', '919800000033', 'delivered', NULL, 1, 33),
  ('camp_mid', '919800000034', 'delivered', NULL, 1, 34),
  ('camp_mid', '8801700000035', 'fallback', NULL, 1, 35),
  ('camp_mid', '919800000036', 'fallback', NULL, 1, 36);
-- 8: its recipient was in Rest of Asia Pacific on 11-20, its charges are in
-- Bangladesh on 11-22.  9: the utility message on the November card's eve
-- (webhook-priced), the session on the new card.
INSERT INTO fallbacks (id, campaign_id, phone, attempt_id, template_name, template_language,
                       scenario, state, state_at, created_at, utility_sent_at,
                       utility_delivered_at, consented_at, declined_at, session_sent_at,
                       converted_at) VALUES
  (8, 'camp_mid', '8801700000035', 35, 'winter_sale', 'en_US', 'S1', 'converted', 1795320000,
   1795226400, 1795316300, 1795316400, 1795318000, NULL, 1795318100, 1795320000),
  (9, 'camp_mid', '919800000036', 36, 'winter_sale', 'en_US', 'S3', 'converted', 1795313400,
   1795226400, 1795226460, 1795226520, 1795300000, NULL, 1795300060, 1795313400);
INSERT INTO sends (id, fallback_id, kind, part, n, callback, body, state, sent_at, resend_of,
                   delivery, delivered_at, read_at, pricing_billable, pricing_category) VALUES
  (31, 8, 'u', 1, 1, 'suf:8:u1', '{}', 'sent', 1795316300, NULL, 'delivered', 1795316400, NULL, NULL, NULL),
  (32, 8, 's', 1, 1, 'suf:8:s1', '{}', 'sent', 1795318100, NULL, 'delivered', 1795320000, NULL, NULL, NULL),
  (33, 9, 'u', 1, 1, 'suf:9:u1', '{}', 'sent', 1795226460, NULL, 'read', 1795226520, 1795226600, 1, 'utility'),
  (34, 9, 's', 1, 1, 'suf:9:s1', '{}', 'sent', 1795300060, NULL, 'delivered', 1795313400, NULL, NULL, NULL);

-- What Meta billed (meta_billing, the portfolio's "Meta billed vs estimate"),
-- for the account's number 15550001111, with a row of another number.
-- 11-20 (a UTC day, with cost): India's four broadcasts, and two marketing
-- lite messages suf did not send (suf counts them as marketing: other
-- traffic); a category suf does not know (REFERRAL_CONVERSION); a country
-- the table does not know (ZZ); free customer service, left out.
-- 11-21 (a UTC day, with cost): US and CA both North America, one more
-- utility message than suf sent; one service message fewer than suf's (suf
-- counts more); India exact; Bangladesh's 880 is still Rest of Asia Pacific,
-- where suf has no rate (unpriced); France, a market the fixture map does
-- not have; another business number, left out.
-- 11-22 (the account's zone, UTC-03:00, so from 03:00 UTC; on a partner's
-- credit line: no cost): Bangladesh.  Between the two spans, 11-22 00:00 to
-- 03:00 UTC was not fetched.
INSERT INTO meta_billing (waba_id, bucket_start, bucket_end, country, phone_number,
                          pricing_category, pricing_type, volume, cost, currency) VALUES
  ('111', 1795132800, 1795219200, 'IN', '15550001111', 'MARKETING', 'REGULAR', 4, 47200, 'USD'),
  ('111', 1795132800, 1795219200, 'IN', '15550001111', 'MARKETING_LITE', 'REGULAR', 2, 5000, 'USD'),
  ('111', 1795132800, 1795219200, 'IN', '15550001111', 'REFERRAL_CONVERSION', 'REGULAR', 1, 900, 'USD'),
  ('111', 1795132800, 1795219200, 'ZZ', '15550001111', 'UTILITY', 'REGULAR', 1, 3000, 'USD'),
  ('111', 1795132800, 1795219200, 'IN', '15550001111', 'SERVICE', 'FREE_CUSTOMER_SERVICE', 3, 0, 'USD'),
  ('111', 1795219200, 1795305600, 'GB', '15550001111', 'UTILITY', 'REGULAR', 1, 2200, 'USD'),
  ('111', 1795219200, 1795305600, 'GB', '15550001111', 'SERVICE', 'REGULAR', 1, 2200, 'USD'),
  ('111', 1795219200, 1795305600, 'GB', '15550001111', 'MARKETING', 'REGULAR', 1, 52900, 'USD'),
  ('111', 1795219200, 1795305600, 'US', '15550001111', 'UTILITY', 'REGULAR', 2, 6800, 'USD'),
  ('111', 1795219200, 1795305600, 'CA', '15550001111', 'UTILITY', 'REGULAR', 1, 3400, 'USD'),
  ('111', 1795219200, 1795305600, 'US', '15550001111', 'SERVICE', 'REGULAR', 1, 3400, 'USD'),
  ('111', 1795219200, 1795305600, 'IN', '15550001111', 'UTILITY', 'REGULAR', 3, 4200, 'USD'),
  ('111', 1795219200, 1795305600, 'IN', '15550001111', 'SERVICE', 'REGULAR', 1, 1300, 'USD'),
  ('111', 1795219200, 1795305600, 'BD', '15550001111', 'UTILITY', 'REGULAR', 1, 11300, 'USD'),
  ('111', 1795219200, 1795305600, 'FR', '15550001111', 'MARKETING', 'REGULAR', 2, 100000, 'USD'),
  ('111', 1795219200, 1795305600, 'IN', '15550002222', 'MARKETING', 'REGULAR', 5, 59000, 'USD'),
  ('111', 1795316400, 1795402800, 'BD', '15550001111', 'UTILITY', 'REGULAR', 1, NULL, NULL),
  ('111', 1795316400, 1795402800, 'BD', '15550001111', 'SERVICE', 'REGULAR', 1, NULL, NULL);
INSERT INTO meta_billing_periods (waba_id, since, until, currency, cost_given, imported_at) VALUES
  ('111', 1795132800, 1795305600, 'USD', 1, 1795500000),
  ('111', 1795316400, 1795402800, NULL, 0, 1795500000);
