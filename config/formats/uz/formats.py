DATETIME_FORMAT = r"j-E, Y-\y\i\l H:i:s"
SHORT_DATETIME_FORMAT = "d.m.Y H:i:s"
TIME_FORMAT = "H:i:s"
