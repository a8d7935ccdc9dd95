"""Results → leaderboard: the store's records as a data frame (frame), the table API board sections use (tables),
significance marks (marks), single-task sections (single_task), drift against today's declarations (drift),
inference latency (inference), plots, CSV export (export), the board itself (board) and publishing (publish)."""
