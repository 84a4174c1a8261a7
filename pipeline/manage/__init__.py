"""Managing the store: contacts, groups, opt-outs and the recipient list, as the commands and schedules use them."""
