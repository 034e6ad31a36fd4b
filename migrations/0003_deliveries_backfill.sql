-- Deliveries recorded before they carried their session and sequence: recover pages through them by session.
UPDATE `deliveries` SET
  `session_id` = (SELECT `session_id` FROM `session_events` WHERE `session_events`.`id` = `deliveries`.`event_id`),
  `sequence` = (SELECT `sequence` FROM `session_events` WHERE `session_events`.`id` = `deliveries`.`event_id`)
WHERE `session_id` IS NULL;
