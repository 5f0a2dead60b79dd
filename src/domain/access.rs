//! Who may do what: the roles and their reach (docs/roles.md).

use uuid::Uuid;

use super::schedule::SessionStatus;

/// What an account may do; stored and answered as `admin`, `club_manager` or
/// `social_worker`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum Role {
    /// Programme staff.
    Admin,
    /// The manager of one club.
    ClubManager,
    /// A social worker of one structure.
    SocialWorker,
}

super::text_enum!(Role {
    Admin = "admin",
    ClubManager = "club_manager",
    SocialWorker = "social_worker",
});

/// What a person is told when a role is not one of the three.
pub const ROLE_CHOICES: &str = "must be admin, club_manager or social_worker";

/// The authenticated user behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub user_id: Uuid,
    pub role: Role,
    /// The one club of a club manager.
    pub club_id: Option<Uuid>,
    /// The one structure of a social worker.
    pub structure_id: Option<Uuid>,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Admins, and the manager of this club.
    pub fn manages_club(&self, club_id: Uuid) -> bool {
        self.is_admin() || (self.role == Role::ClubManager && self.club_id == Some(club_id))
    }

    /// Whether this caller may see a session of `club_id` in `status`: published ones are
    /// visible to every role, drafts and cancelled ones only to whoever manages the club.
    pub fn sees_session(&self, club_id: Uuid, status: SessionStatus) -> bool {
        status == SessionStatus::Published || self.manages_club(club_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(role: Role, club_id: Option<Uuid>) -> Caller {
        Caller {
            user_id: Uuid::new_v4(),
            role,
            club_id,
            structure_id: None,
        }
    }

    #[test]
    fn roles_read_back_as_written() {
        for role in [Role::Admin, Role::ClubManager, Role::SocialWorker] {
            assert_eq!(Role::try_from(role.as_str().to_owned()), Ok(role));
        }
        assert!(Role::try_from("coach".to_owned()).is_err());
    }

    #[test]
    fn only_admins_and_own_managers_manage_a_club() {
        let club = Uuid::new_v4();
        assert!(caller(Role::Admin, None).manages_club(club));
        assert!(caller(Role::ClubManager, Some(club)).manages_club(club));
        assert!(!caller(Role::ClubManager, Some(Uuid::new_v4())).manages_club(club));
        assert!(!caller(Role::SocialWorker, None).manages_club(club));
    }

    #[test]
    fn drafts_are_seen_by_their_club_only() {
        let club = Uuid::new_v4();
        let worker = caller(Role::SocialWorker, None);
        assert!(worker.sees_session(club, SessionStatus::Published));
        assert!(!worker.sees_session(club, SessionStatus::Draft));
        assert!(caller(Role::ClubManager, Some(club)).sees_session(club, SessionStatus::Draft));
    }
}
