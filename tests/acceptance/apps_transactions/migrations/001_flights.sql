CREATE TABLE flights (id TEXT PRIMARY KEY, seats INTEGER NOT NULL CHECK (seats >= 0));
CREATE TABLE bookings (booking TEXT NOT NULL, flight TEXT NOT NULL);
CREATE TABLE refunds (booking TEXT NOT NULL);
INSERT INTO flights VALUES ('F1', 100);
