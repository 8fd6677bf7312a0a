"""The private document exchange between participants' services (DESIGN.md section 8)."""
