//! Participants: their situation, language and door code.

use rand::Rng;

use super::FieldError;

/// Letters and digits that cannot be mistaken for one another on a badge or a phone
/// line: no 0/O, 1/I/L, 5/S, 2/Z, 8/B.
pub const CODE_ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTUVWXY34679";
pub const CODE_LENGTH: usize = 6;

pub const SITUATIONS: &[&str] = &[
    "street",
    "shelter",
    "single_parent",
    "student",
    "young_care_leaver",
    "migrant",
    "isolated_senior",
    "other",
];

pub const LANGUAGES: &[&str] = &["fr", "en"];

/// Shown instead of the names of someone whose data was erased.
pub const ERASED_NAME: &str = "—";

/// A new door code.
pub fn new_code(rng: &mut impl Rng) -> String {
    (0..CODE_LENGTH)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect()
}

pub fn situation(value: &str) -> Result<String, FieldError> {
    one_of("situation", value, SITUATIONS)
}

pub fn language(value: &str) -> Result<String, FieldError> {
    one_of("language", value, LANGUAGES)
}

pub fn birth_year(year: i32, current_year: i32) -> Result<i32, FieldError> {
    if (current_year - 120..=current_year).contains(&year) {
        Ok(year)
    } else {
        Err(FieldError::new(
            "birth_year",
            format!("must be between {} and {current_year}", current_year - 120),
        ))
    }
}

/// What a club sees of a name: the first name and the last name's initial.
pub fn roster_name(first_name: &str, last_name: &str) -> (String, String) {
    let initial = last_name
        .chars()
        .next()
        .map(|c| format!("{}.", c.to_uppercase()))
        .unwrap_or_default();
    (first_name.to_owned(), initial)
}

fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<String, FieldError> {
    let value = value.trim();
    if allowed.contains(&value) {
        Ok(value.to_owned())
    } else {
        Err(FieldError::new(
            field,
            format!("must be one of {}", allowed.join(", ")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_use_only_unambiguous_characters() {
        let mut rng = rand::rng();
        for _ in 0..1000 {
            let code = new_code(&mut rng);
            assert_eq!(code.len(), CODE_LENGTH);
            assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        }
        for confusable in [
            b'0', b'O', b'1', b'I', b'L', b'5', b'S', b'2', b'Z', b'8', b'B',
        ] {
            assert!(!CODE_ALPHABET.contains(&confusable));
        }
    }

    #[test]
    fn clubs_see_an_initial_only() {
        assert_eq!(
            roster_name("Amina", "diallo"),
            ("Amina".into(), "D.".into())
        );
        assert_eq!(roster_name("Jo", ""), ("Jo".into(), String::new()));
    }

    #[test]
    fn closed_lists() {
        assert!(situation("shelter").is_ok());
        assert_eq!(situation("rich").unwrap_err().field, "situation");
        assert!(language("en").is_ok());
        assert!(language("de").is_err());
        assert!(birth_year(1990, 2026).is_ok());
        assert!(birth_year(2030, 2026).is_err());
    }
}
