//! Partner clubs: where each stands with the programme.

/// Where a club stands with the programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum PartnershipStatus {
    /// Talking with the programme, no places yet.
    Prospect,
    Active,
    Paused,
    Ended,
}

impl PartnershipStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Prospect => "prospect",
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Ended => "ended",
        }
    }
}

impl TryFrom<String> for PartnershipStatus {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        match text.as_str() {
            "prospect" => Ok(Self::Prospect),
            "active" => Ok(Self::Active),
            "paused" => Ok(Self::Paused),
            "ended" => Ok(Self::Ended),
            other => Err(format!("unknown partnership status {other:?}")),
        }
    }
}
