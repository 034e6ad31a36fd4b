CREATE TABLE `decision_endpoints` (
	`tenant_id` text PRIMARY KEY NOT NULL,
	`url` text NOT NULL,
	`fallback` text NOT NULL,
	`secrets` text NOT NULL,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`tenant_id`) REFERENCES `tenants`(`id`) ON UPDATE no action ON DELETE no action
);
