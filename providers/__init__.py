"""Payment providers: one small module of functions per gateway, one result type for all."""
