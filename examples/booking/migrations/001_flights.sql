CREATE TABLE flights (
    id TEXT PRIMARY KEY,
    seats INTEGER NOT NULL,
    capacity INTEGER NOT NULL
);
CREATE TABLE bookings (
    booking_id TEXT PRIMARY KEY,
    flight_id TEXT NOT NULL,
    status TEXT NOT NULL
);
INSERT INTO flights (id, seats, capacity) VALUES ('SP100', 100000, 100000);
INSERT INTO flights (id, seats, capacity) VALUES ('SP200', 100000, 100000);
INSERT INTO flights (id, seats, capacity) VALUES ('SP300', 20, 20)
