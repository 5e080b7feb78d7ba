//! The tables, identical on SQLite and PostgreSQL: ids are UUID text, times are Unix
//! milliseconds, so one schema and one set of queries serve both backends.

diesel::table! {
    sites (id) {
        id -> Text,
        public_id -> Text,
        name -> Text,
        created_at -> BigInt,
        mfa_required_roles -> Text,
        sign_up -> Text,
        retention_days -> Nullable<Integer>,
    }
}

diesel::table! {
    site_origins (site_id, origin) {
        site_id -> Text,
        origin -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        site_id -> Text,
        email_index -> Text,
        email_sealed -> Binary,
        email_key_id -> Integer,
        display_name -> Text,
        password_hash -> Text,
        created_at -> BigInt,
        disabled_at -> Nullable<BigInt>,
        role -> Text,
    }
}

diesel::table! {
    rooms (id) {
        id -> Text,
        site_id -> Text,
        name -> Text,
        kind -> Text,
        is_default -> Bool,
        last_seq -> BigInt,
        created_at -> BigInt,
        created_by -> Nullable<Text>,
        direct_key -> Nullable<Text>,
    }
}

diesel::table! {
    room_members (room_id, user_id) {
        room_id -> Text,
        user_id -> Text,
        banned -> Bool,
        read_seq -> BigInt,
        joined_at -> BigInt,
    }
}

diesel::table! {
    messages (id) {
        id -> Text,
        room_id -> Text,
        seq -> BigInt,
        author_id -> Text,
        client_id -> Text,
        body_sealed -> Binary,
        body_key_id -> Integer,
        sent_at -> BigInt,
        edited_at -> Nullable<BigInt>,
        deleted_at -> Nullable<BigInt>,
        deleted_by -> Nullable<Text>,
    }
}

diesel::table! {
    message_edits (id) {
        id -> Text,
        message_id -> Text,
        replaced_at -> BigInt,
        body_sealed -> Binary,
        body_key_id -> Integer,
    }
}

diesel::table! {
    vault_keys (id) {
        id -> Integer,
        state -> Text,
        wrapped -> Binary,
        created_at -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Text,
        created_at -> BigInt,
        last_used_at -> BigInt,
        expires_at -> BigInt,
        device -> Text,
        ip -> Nullable<Text>,
        revoked_at -> Nullable<BigInt>,
        revoked_reason -> Nullable<Text>,
        mfa_pending -> Bool,
    }
}

diesel::table! {
    refresh_tokens (token_hash) {
        token_hash -> Text,
        session_id -> Text,
        created_at -> BigInt,
        used_at -> Nullable<BigInt>,
        retired -> Bool,
    }
}

diesel::table! {
    login_throttle (site_id, email_index, scope) {
        site_id -> Text,
        email_index -> Text,
        scope -> Text,
        consecutive -> Integer,
        blocked_until -> BigInt,
        window_start -> BigInt,
        window_failures -> Integer,
    }
}

diesel::table! {
    mfa_totp (user_id) {
        user_id -> Text,
        secret_sealed -> Binary,
        secret_key_id -> Integer,
        enabled -> Bool,
        last_step -> BigInt,
        created_at -> BigInt,
    }
}

diesel::table! {
    recovery_codes (user_id, code_hash) {
        user_id -> Text,
        code_hash -> Text,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    mfa_challenges (ticket_hash) {
        ticket_hash -> Text,
        user_id -> Text,
        expires_at -> BigInt,
        attempts -> Integer,
    }
}

diesel::table! {
    password_resets (token_hash) {
        token_hash -> Text,
        user_id -> Text,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    sign_ups (token_hash) {
        token_hash -> Text,
        site_id -> Text,
        user_id -> Text,
        email_index -> Text,
        email_sealed -> Binary,
        email_key_id -> Integer,
        expires_at -> BigInt,
        invited -> Bool,
    }
}

diesel::joinable!(site_origins -> sites (site_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> sessions (session_id));
diesel::joinable!(users -> sites (site_id));
diesel::joinable!(rooms -> sites (site_id));
diesel::joinable!(messages -> rooms (room_id));
diesel::joinable!(messages -> users (author_id));
diesel::joinable!(message_edits -> messages (message_id));
diesel::joinable!(room_members -> rooms (room_id));
diesel::joinable!(room_members -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    sites,
    site_origins,
    users,
    rooms,
    room_members,
    messages,
    message_edits,
    vault_keys,
    audit_events,
    sessions,
    refresh_tokens,
    login_throttle,
    mfa_totp,
    recovery_codes,
    mfa_challenges,
    password_resets,
    sign_ups
);

diesel::table! {
    audit_events (id) {
        id -> Text,
        at -> BigInt,
        event -> Text,
        outcome -> Text,
        site_id -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        details -> Text,
    }
}

diesel::table! {
    oauth_identities (id) {
        id -> Text,
        site_id -> Text,
        user_id -> Text,
        provider -> Text,
        subject -> Text,
        created_at -> BigInt,
        last_used_at -> BigInt,
    }
}

diesel::table! {
    oauth_transactions (state_hash) {
        state_hash -> Text,
        binding_hash -> Text,
        site_id -> Text,
        provider -> Text,
        nonce -> Text,
        pkce_verifier -> Text,
        origin -> Text,
        code_challenge -> Text,
        link_user_id -> Nullable<Text>,
        expires_at -> BigInt,
    }
}

diesel::table! {
    oauth_login_codes (code_hash) {
        code_hash -> Text,
        site_id -> Text,
        user_id -> Text,
        provider -> Text,
        code_challenge -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    oauth_link_intents (ticket_hash) {
        ticket_hash -> Text,
        site_id -> Text,
        user_id -> Text,
        provider -> Text,
        expires_at -> BigInt,
    }
}
