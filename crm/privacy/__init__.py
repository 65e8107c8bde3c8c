"""Privacy machinery: the sensitive-data guard, anonymiser, access export, notice."""
