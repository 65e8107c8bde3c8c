"""`crm bench`: generated data at scale and the measures of DESIGN §10."""
