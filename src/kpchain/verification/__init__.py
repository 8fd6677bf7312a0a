"""Certificate verification: is a presented certificate the one its authority issued?"""
