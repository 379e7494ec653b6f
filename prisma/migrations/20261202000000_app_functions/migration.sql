-- The functions and triggers the ChatGenius server relies on (its schema document,
-- "Functions and triggers the application calls"), written from their documented behaviour.
-- Prisma's schema language cannot express them, so they live in this migration and come back
-- with every `db:migrate`, `db:reset`, test template and embedded database.

-- generate_ulid(): a new ULID, 26 characters of Crockford base32. The first 10 encode the
-- millisecond (so ids sort by creation time); the other 16 are 80 random bits taken from a
-- version 4 UUID (core since PostgreSQL 13, so no extension is needed), skipping the UUID's
-- fixed version and variant bits.
CREATE OR REPLACE FUNCTION generate_ulid(p_time timestamptz) RETURNS varchar
LANGUAGE plpgsql VOLATILE PARALLEL SAFE AS $$
DECLARE
  alphabet CONSTANT text := '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  ms bigint := floor(extract(epoch FROM p_time) * 1000);
  bytes bytea := uuid_send(gen_random_uuid());
  high bigint := 0;
  low bigint := 0;
  result text := '';
  i int;
BEGIN
  FOR i IN 0..4 LOOP
    high := (high << 8) | get_byte(bytes, i);
    low := (low << 8) | get_byte(bytes, 11 + i);
  END LOOP;
  FOR i IN REVERSE 9..0 LOOP
    result := result || substr(alphabet, ((ms >> (5 * i)) & 31)::int + 1, 1);
  END LOOP;
  FOR i IN REVERSE 7..0 LOOP
    result := result || substr(alphabet, ((high >> (5 * i)) & 31)::int + 1, 1);
  END LOOP;
  FOR i IN REVERSE 7..0 LOOP
    result := result || substr(alphabet, ((low >> (5 * i)) & 31)::int + 1, 1);
  END LOOP;
  RETURN result;
END;
$$;

CREATE OR REPLACE FUNCTION generate_ulid() RETURNS varchar
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$ SELECT generate_ulid(clock_timestamp()) $$;

-- sync_auth0_user: what the server's user-sync middleware calls on every signed-in request.
-- Finds the user by auth0_id; a new one is inserted (with p_user_id, or a fresh ULID whose time
-- is its created_at), a known one gets the identity provider's current email, username, full
-- name and avatar (and updated_at). Returns the user's id; two requests of the same new user at
-- once make one row.
CREATE OR REPLACE FUNCTION sync_auth0_user(
  p_user_id varchar, p_auth0_id varchar, p_email varchar, p_username varchar, p_full_name varchar, p_avatar_url text
) RETURNS varchar
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  created timestamptz := date_trunc('milliseconds', clock_timestamp());
  user_id varchar;
BEGIN
  -- Two first requests of a new user at once: without this, both may pass the auth0_id check
  -- and the second fail on the email key instead of taking the update path.
  PERFORM pg_advisory_xact_lock(hashtext('sync_auth0_user'), hashtext(p_auth0_id));
  INSERT INTO users AS u (id, auth0_id, email, username, full_name, avatar_url, created_at, updated_at)
  VALUES (coalesce(p_user_id, generate_ulid(created)), p_auth0_id, p_email, p_username, p_full_name, p_avatar_url, created, created)
  ON CONFLICT (auth0_id) DO UPDATE
    SET email = EXCLUDED.email, username = EXCLUDED.username, full_name = EXCLUDED.full_name,
        avatar_url = EXCLUDED.avatar_url, updated_at = now()
  RETURNING u.id INTO user_id;
  RETURN user_id;
END;
$$;

CREATE OR REPLACE FUNCTION sync_auth0_user(
  p_auth0_id varchar, p_email varchar, p_username varchar, p_full_name varchar, p_avatar_url text
) RETURNS varchar
LANGUAGE sql VOLATILE AS $$ SELECT sync_auth0_user(NULL, p_auth0_id, p_email, p_username, p_full_name, p_avatar_url) $$;

-- updated_at follows every UPDATE of a row, whatever the statement set it to.
CREATE OR REPLACE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END;
$$;

CREATE OR REPLACE TRIGGER users_set_updated_at BEFORE UPDATE ON users FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE OR REPLACE TRIGGER channels_set_updated_at BEFORE UPDATE ON channels FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE OR REPLACE TRIGGER channel_members_set_updated_at BEFORE UPDATE ON channel_members FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE OR REPLACE TRIGGER messages_set_updated_at BEFORE UPDATE ON messages FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE OR REPLACE TRIGGER reactions_set_updated_at BEFORE UPDATE ON reactions FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE OR REPLACE TRIGGER files_set_updated_at BEFORE UPDATE ON files FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE OR REPLACE TRIGGER message_reads_set_updated_at BEFORE UPDATE ON message_reads FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE OR REPLACE TRIGGER user_settings_set_updated_at BEFORE UPDATE ON user_settings FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE OR REPLACE TRIGGER user_status_set_updated_at BEFORE UPDATE ON user_status FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- An archived channel is read-only. Triggers fire in name order: this one ("channels_archived_…")
-- refuses the update before "channels_set_updated_at" would touch the row.
CREATE OR REPLACE FUNCTION prevent_archived_channel_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'Cannot modify archived channel'
    USING DETAIL = format('channel %s was archived at %s', OLD.id, OLD.archived_at),
          HINT = 'an archived channel is read-only';
END;
$$;

CREATE OR REPLACE TRIGGER channels_archived_read_only BEFORE UPDATE ON channels
  FOR EACH ROW WHEN (OLD.archived_at IS NOT NULL) EXECUTE FUNCTION prevent_archived_channel_update();
