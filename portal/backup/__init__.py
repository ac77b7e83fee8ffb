"""Backups of the portal: consistent snapshots of the database and the stored files into a
backup folder, their verification and pruning, and the restore into an empty instance."""
