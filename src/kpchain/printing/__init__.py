"""The printable KP certificate."""
