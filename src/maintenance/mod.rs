//! The operator's commands besides `serve`: `check` says whether a configuration can
//! run (database, migrations, mail, templates) without changing anything, `backup`
//! writes a consistent copy of a SQLite database while the service runs.

pub mod backup;
pub mod check;
