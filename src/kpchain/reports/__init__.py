"""KP statistics (the Annual Global Summary) and monitoring, read from the index."""
