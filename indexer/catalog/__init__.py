"""The catalog: settings, errors, the database, its tables and the SQL that owns each."""
