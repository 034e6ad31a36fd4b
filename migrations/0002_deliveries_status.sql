DROP INDEX `deliveries_endpoint_state`;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `session_id` text;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `sequence` integer;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `last_attempt_at` integer;--> statement-breakpoint
ALTER TABLE `deliveries` ADD `next_attempt_at` integer;--> statement-breakpoint
CREATE INDEX `deliveries_endpoint_state_created` ON `deliveries` (`endpoint_id`,`state`,`event_created_at`,`event_id`);--> statement-breakpoint
CREATE INDEX `deliveries_tenant_state_created` ON `deliveries` (`tenant_id`,`state`,`event_created_at`,`event_id`);--> statement-breakpoint
CREATE INDEX `deliveries_endpoint_undelivered` ON `deliveries` (`endpoint_id`,`session_id`,`sequence`) WHERE state IN ('failed', 'skipped', 'pending');--> statement-breakpoint
ALTER TABLE `delivery_attempts` ADD `trigger` text DEFAULT 'scheduled' NOT NULL;--> statement-breakpoint
ALTER TABLE `delivery_attempts` ADD `next_attempt_at` integer;--> statement-breakpoint
ALTER TABLE `delivery_attempts` ADD `ok` integer GENERATED ALWAYS AS (coalesce(status between 200 and 299, 0)) VIRTUAL;--> statement-breakpoint
CREATE INDEX `delivery_attempts_endpoint_ok` ON `delivery_attempts` (`endpoint_id`,`ok`,`attempted_at`);