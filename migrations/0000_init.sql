CREATE TABLE `credentials` (
	`hash` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`kind` text NOT NULL,
	`created_at` integer NOT NULL,
	`expires_at` integer,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `credentials_tenant` ON `credentials` (`tenant_id`,`kind`);--> statement-breakpoint
CREATE TABLE `deliveries` (
	`event_id` text NOT NULL,
	`endpoint_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`state` text NOT NULL,
	`attempts` integer DEFAULT 0 NOT NULL,
	`event_created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`event_id`, `endpoint_id`)
);
--> statement-breakpoint
CREATE INDEX `deliveries_endpoint_state` ON `deliveries` (`endpoint_id`,`state`,`event_created_at`);--> statement-breakpoint
CREATE TABLE `delivery_attempts` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`event_id` text NOT NULL,
	`endpoint_id` text NOT NULL,
	`tenant_id` text NOT NULL,
	`attempted_at` integer NOT NULL,
	`status` integer,
	`error` text,
	`duration_ms` integer NOT NULL,
	`response_excerpt` text
);
--> statement-breakpoint
CREATE INDEX `delivery_attempts_event` ON `delivery_attempts` (`event_id`,`attempted_at`);--> statement-breakpoint
CREATE INDEX `delivery_attempts_attempted` ON `delivery_attempts` (`attempted_at`);--> statement-breakpoint
CREATE TABLE `machine_claims` (
	`site_id` integer NOT NULL,
	`machine_id` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`site_id`, `machine_id`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `machine_claims_tenant` ON `machine_claims` (`tenant_id`);--> statement-breakpoint
CREATE TABLE `session_events` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`session_id` text,
	`sequence` integer,
	`type` text NOT NULL,
	`body` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `session_events_session_sequence` ON `session_events` (`session_id`,`sequence`);--> statement-breakpoint
CREATE INDEX `session_events_tenant_created` ON `session_events` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `session_events_tenant_type` ON `session_events` (`tenant_id`,`type`,`created_at`);--> statement-breakpoint
CREATE TABLE `sessions` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`flow` text NOT NULL,
	`status` text NOT NULL,
	`nayax_transaction_id` integer,
	`site_id` integer,
	`machine_id` integer,
	`hw_serial` text,
	`service_station_number` text,
	`authorized_amount` text,
	`settled_amount` text,
	`currency` text,
	`card_last4` text,
	`card_hash` text,
	`overdue` integer DEFAULT false NOT NULL,
	`last_sequence` integer NOT NULL,
	`snapshot` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `sessions_tenant_created` ON `sessions` (`tenant_id`,`created_at`,`id`);--> statement-breakpoint
CREATE INDEX `sessions_tenant_status_created` ON `sessions` (`tenant_id`,`status`,`created_at`);--> statement-breakpoint
CREATE INDEX `sessions_tenant_site_created` ON `sessions` (`tenant_id`,`site_id`,`created_at`);--> statement-breakpoint
CREATE INDEX `sessions_tenant_nayax` ON `sessions` (`tenant_id`,`nayax_transaction_id`);--> statement-breakpoint
CREATE INDEX `sessions_card_match` ON `sessions` (`tenant_id`,`machine_id`,`card_hash`,`status`);--> statement-breakpoint
CREATE TABLE `site_claims` (
	`site_id` integer PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `stations` (
	`tenant_id` text NOT NULL,
	`machine_id` integer NOT NULL,
	`service_station_number` text NOT NULL,
	`availability` text NOT NULL,
	`display` text,
	`pre_auth_amount` text,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `machine_id`, `service_station_number`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`name` text NOT NULL,
	`status` text DEFAULT 'active' NOT NULL,
	`spark_base_url` text NOT NULL,
	`spark_token_id` integer NOT NULL,
	`spark_integrator_id` text NOT NULL,
	`spark_secrets` text NOT NULL,
	`default_pre_auth_amount` text DEFAULT '50.00' NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `tenants_spark_token_id` ON `tenants` (`spark_token_id`);--> statement-breakpoint
CREATE TABLE `webhook_endpoints` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`url` text NOT NULL,
	`enabled` integer DEFAULT true NOT NULL,
	`disabled_reason` text,
	`event_types` text,
	`secrets` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `webhook_endpoints_tenant` ON `webhook_endpoints` (`tenant_id`);