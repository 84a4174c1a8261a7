"""contacts: the contact store of an SMS and e-mail platform, fed by files."""
