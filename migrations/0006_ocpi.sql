CREATE TABLE `ocpi_cdrs` (
	`ref` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`version` text NOT NULL,
	`country_code` text NOT NULL,
	`party_id` text NOT NULL,
	`cdr_key` text NOT NULL,
	`object` text NOT NULL,
	`gateway_session_id` text,
	`received_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE UNIQUE INDEX `ocpi_cdrs_identity` ON `ocpi_cdrs` (`tenant_id`,`country_code`,`party_id`,`cdr_key`);--> statement-breakpoint
CREATE INDEX `ocpi_cdrs_gateway` ON `ocpi_cdrs` (`tenant_id`,`gateway_session_id`);--> statement-breakpoint
CREATE TABLE `ocpi_commands` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`version` text NOT NULL,
	`kind` text NOT NULL,
	`gateway_session_id` text NOT NULL,
	`to_country_code` text,
	`to_party_id` text,
	`result` text,
	`message` text,
	`result_at` integer,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `ocpi_commands_session` ON `ocpi_commands` (`tenant_id`,`gateway_session_id`);--> statement-breakpoint
CREATE TABLE `ocpi_connections` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`status` text NOT NULL,
	`version` text,
	`initiated_by` text,
	`token_encoding` text,
	`cpo_versions_url` text,
	`cpo_token` text,
	`cpo_endpoints` text,
	`cpo_parties` text,
	`additional_parties` text DEFAULT '[]' NOT NULL,
	`last_sync` text,
	`invited_at` integer,
	`registered_at` integer,
	`locked_until` integer,
	`last_unregister` text,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `ocpi_evses` (
	`tenant_id` text NOT NULL,
	`country_code` text NOT NULL,
	`party_id` text NOT NULL,
	`location_key` text NOT NULL,
	`evse_key` text NOT NULL,
	`status` text NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `country_code`, `party_id`, `location_key`, `evse_key`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `ocpi_evses_lookup` ON `ocpi_evses` (`tenant_id`,`location_key`,`evse_key`);--> statement-breakpoint
CREATE TABLE `ocpi_locations` (
	`tenant_id` text NOT NULL,
	`country_code` text NOT NULL,
	`party_id` text NOT NULL,
	`location_key` text NOT NULL,
	`version` text NOT NULL,
	`object` text NOT NULL,
	`last_updated` text NOT NULL,
	`revision` text DEFAULT '' NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `country_code`, `party_id`, `location_key`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `ocpi_sessions` (
	`tenant_id` text NOT NULL,
	`country_code` text NOT NULL,
	`party_id` text NOT NULL,
	`session_key` text NOT NULL,
	`version` text NOT NULL,
	`object` text NOT NULL,
	`last_updated` text,
	`gateway_session_id` text,
	`revision` text DEFAULT '' NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `country_code`, `party_id`, `session_key`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `ocpi_sessions_gateway` ON `ocpi_sessions` (`tenant_id`,`gateway_session_id`);--> statement-breakpoint
CREATE TABLE `ocpi_settings` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`retail_factor` text NOT NULL,
	`vat_percent` text NOT NULL,
	`currency` text,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `ocpi_tariffs` (
	`tenant_id` text NOT NULL,
	`country_code` text NOT NULL,
	`party_id` text NOT NULL,
	`tariff_key` text NOT NULL,
	`version` text NOT NULL,
	`object` text NOT NULL,
	`last_updated` text NOT NULL,
	`revision` text DEFAULT '' NOT NULL,
	`updated_at` integer NOT NULL,
	PRIMARY KEY(`tenant_id`, `country_code`, `party_id`, `tariff_key`),
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE TABLE `ocpi_token_uids` (
	`uid` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`gateway_session_id` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `ocpi_token_uids_session` ON `ocpi_token_uids` (`tenant_id`,`gateway_session_id`);--> statement-breakpoint
CREATE TABLE `ocpi_tokens` (
	`hash` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`kind` text NOT NULL,
	`created_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
--> statement-breakpoint
CREATE INDEX `ocpi_tokens_tenant` ON `ocpi_tokens` (`tenant_id`,`kind`);--> statement-breakpoint
ALTER TABLE `stations` ADD `ocpi_location_id` text;--> statement-breakpoint
ALTER TABLE `stations` ADD `ocpi_evse_uid` text;--> statement-breakpoint
ALTER TABLE `stations` ADD `ocpi_connector_id` text;--> statement-breakpoint
ALTER TABLE `stations` ADD `ocpi_country_code` text;--> statement-breakpoint
ALTER TABLE `stations` ADD `ocpi_party_id` text;