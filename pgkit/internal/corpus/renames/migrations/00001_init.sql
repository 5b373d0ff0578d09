-- +goose Up
CREATE TABLE app_users (
    id         bigserial PRIMARY KEY,
    usr_name   text NOT NULL CONSTRAINT app_users_usr_name_key UNIQUE,
    email_addr text NOT NULL,
    homepage   text,
    settings   jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE sessions (
    id       bigserial PRIMARY KEY,
    usr_id   bigint NOT NULL CONSTRAINT sessions_usr_id_fkey REFERENCES app_users (id),
    tok      text NOT NULL,
    settings jsonb
);

-- +goose Down
DROP TABLE sessions;
DROP TABLE app_users;
