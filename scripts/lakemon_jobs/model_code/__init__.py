"""Model code logged with the model ("models from code"): files here must import nothing from
lakemon_jobs, because the serving container loads them without our wheel installed."""
