//! Small checks on free-text fields shared by several resources.

use super::FieldError;

/// A trimmed, non-empty text of at most `max` characters.
pub fn required_text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    optional_text(field, Some(value), max).map(|v| v.unwrap_or_default())
}

/// A trimmed text of at most `max` characters; blank becomes `None`.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(Some(value.to_owned()))
}

/// A plausible email address: one `@`, a dot in the domain, no spaces.
pub fn email(field: &str, value: &str) -> Result<String, FieldError> {
    let value = value.trim();
    let plausible = value.len() <= 254
        && !value.contains(char::is_whitespace)
        && value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if plausible {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(
            field,
            format!("{value:?} is not a valid email address"),
        ))
    }
}

/// A sport or city as used for filtering: trimmed and lower-cased.
pub fn search_key(value: &str) -> String {
    value.trim().to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert!(email("email", "ana@example.org").is_ok());
        assert_eq!(email("email", "nope").unwrap_err().field, "email");
        assert!(email("email", "a b@example.org").is_err());
        assert!(email("email", "a@example").is_err());
    }

    #[test]
    fn texts() {
        assert_eq!(
            required_text("name", "  AS Bondy ", 10).unwrap(),
            "AS Bondy"
        );
        assert!(required_text("name", "  ", 10).is_err());
        assert!(optional_text("notes", Some("x".repeat(11).as_str()), 10).is_err());
        assert_eq!(optional_text("notes", Some(" "), 10).unwrap(), None);
    }
}
