"""Task pages, one module per concern: `tasks` (list, task page, create, edit), `intake`,
`comments`, `policy`. Nothing is re-exported here: import the module you need."""
