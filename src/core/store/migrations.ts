// Forward-only schema migrations. Each entry runs once, in order, inside a transaction;
// `PRAGMA user_version` records how many have run. Never edit a shipped entry: append a new one.
export const migrations: readonly string[] = [
  /* 1: the library */ `
  CREATE TABLE roots (
    id         INTEGER PRIMARY KEY,
    path       TEXT NOT NULL UNIQUE,
    added_at   INTEGER NOT NULL
  );
  CREATE TABLE photos (
    id           INTEGER PRIMARY KEY,
    root_id      INTEGER NOT NULL REFERENCES roots(id) ON DELETE CASCADE,
    rel_path     TEXT NOT NULL,
    size         INTEGER NOT NULL,
    mtime_ms     INTEGER NOT NULL,
    hash         TEXT,                -- sha256 of the file's bytes: identity across moves and renames
    width        INTEGER,
    height       INTEGER,
    taken_at     INTEGER,             -- EXIF DateTimeOriginal, ms since epoch (falls back to mtime in queries)
    camera       TEXT,
    orientation  INTEGER,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'ok', 'failed')),
    error        TEXT,                -- why a failed photo failed, in words a user understands
    indexed_at   INTEGER,
    UNIQUE (root_id, rel_path)
  );
  CREATE INDEX photos_hash ON photos(hash);
  CREATE INDEX photos_status ON photos(status);
  CREATE TABLE albums (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL
  );
  CREATE TABLE album_photos (
    album_id  INTEGER NOT NULL REFERENCES albums(id) ON DELETE CASCADE,
    photo_id  INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    added_at  INTEGER NOT NULL,
    PRIMARY KEY (album_id, photo_id)
  );
  CREATE INDEX album_photos_photo ON album_photos(photo_id);
  -- CNN features, once per file content and backbone (model id + layer + preprocessing).
  CREATE TABLE features (
    hash      TEXT NOT NULL,
    backbone  TEXT NOT NULL,
    dim       INTEGER NOT NULL,
    vector    BLOB NOT NULL,          -- Float32Array bytes
    PRIMARY KEY (hash, backbone)
  );
  -- DPQ models, versioned. Exactly one row has active = 1 once any model is ready.
  CREATE TABLE models (
    id          INTEGER PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    kind        TEXT NOT NULL,          -- 'unsupervised' | 'supervised'
    backbone    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('training', 'encoding', 'ready', 'failed')),
    active      INTEGER NOT NULL DEFAULT 0,
    params      TEXT NOT NULL,          -- JSON: M, K, D, gamma, schedule, ...
    weights     BLOB,                   -- serialized head + codebooks
    metrics     TEXT                    -- JSON: measured mAP / latency per code length
  );
  CREATE UNIQUE INDEX models_one_active ON models(active) WHERE active = 1;
  -- One code (M bytes) per model and file content.
  CREATE TABLE codes (
    model_id  INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    hash      TEXT NOT NULL,
    code      BLOB NOT NULL,
    PRIMARY KEY (model_id, hash)
  );
  CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,          -- 'index' | 'train' | 'encode'
    state       TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    params      TEXT NOT NULL,          -- JSON
    progress    TEXT,                   -- JSON: last progress event
    error       TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
  );
  CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
  );
  `,
  /* 2: deeper fine-tuning */ `
  -- A late CNN activation per file content (fine-tuned models read it to encode and to query):
  -- uint8 per value, dequantized as lo + step · byte. Derivable from the file, so droppable.
  CREATE TABLE activations (
    hash   TEXT NOT NULL,
    layer  TEXT NOT NULL,             -- backbone id + layer name
    lo     REAL NOT NULL,
    step   REAL NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (hash, layer)
  );
  `,
  /* 3: one writer of models at a time across processes; only the model statuses in use; no settings */ `
  -- A named lock held by one process (pid on host), alive while its heartbeat is recent.
  CREATE TABLE locks (
    name         TEXT PRIMARY KEY,
    pid          INTEGER NOT NULL,
    host         TEXT NOT NULL,
    acquired_at  INTEGER NOT NULL,
    heartbeat    INTEGER NOT NULL
  );
  DROP TABLE settings;
  -- A model row is 'encoding' while it is written and 'ready' once activated: the table is rebuilt
  -- without the statuses nothing writes. Codes reference models, so they move first (dropping
  -- models while codes point at it would cascade-delete them).
  CREATE TABLE models_v3 (
    id          INTEGER PRIMARY KEY,
    created_at  INTEGER NOT NULL,
    kind        TEXT NOT NULL,          -- 'unsupervised' | 'supervised'
    backbone    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('encoding', 'ready')),
    active      INTEGER NOT NULL DEFAULT 0,
    params      TEXT NOT NULL,          -- JSON: M, K, D, gamma, schedule, ...
    weights     BLOB,                   -- serialized head + codebooks; NULL once pruned
    metrics     TEXT                    -- JSON: measured mAP per code length, training time
  );
  INSERT INTO models_v3 (id, created_at, kind, backbone, status, active, params, weights, metrics)
    SELECT id, created_at, kind, backbone, status, active, params, weights, metrics FROM models WHERE status IN ('encoding', 'ready');
  CREATE TABLE codes_v3 (
    model_id  INTEGER NOT NULL REFERENCES models_v3(id) ON DELETE CASCADE,
    hash      TEXT NOT NULL,
    code      BLOB NOT NULL,
    PRIMARY KEY (model_id, hash)
  );
  INSERT INTO codes_v3 (model_id, hash, code) SELECT model_id, hash, code FROM codes WHERE model_id IN (SELECT id FROM models_v3);
  DROP TABLE codes;
  DROP TABLE models;
  ALTER TABLE models_v3 RENAME TO models;
  ALTER TABLE codes_v3 RENAME TO codes;
  CREATE UNIQUE INDEX models_one_active ON models(active) WHERE active = 1;
  `,
  /* 4: decisions about duplicates, by content hash so they survive moves and rescans */ `
  -- "Not duplicates": two contents never grouped together again (hash_a < hash_b), or two files of
  -- one content (hash_a = hash_b).
  CREATE TABLE duplicate_dismissals (
    hash_a      TEXT NOT NULL,
    hash_b      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (hash_a, hash_b),
    CHECK (hash_a <= hash_b)
  );
  -- Stacks: copies shown as one tile, the keeper's; a content belongs to one stack at most.
  CREATE TABLE stacks (
    id           INTEGER PRIMARY KEY,
    keeper_hash  TEXT NOT NULL,
    created_at   INTEGER NOT NULL
  );
  CREATE TABLE stack_members (
    hash      TEXT PRIMARY KEY,
    stack_id  INTEGER NOT NULL REFERENCES stacks(id) ON DELETE CASCADE
  );
  CREATE INDEX stack_members_stack ON stack_members(stack_id);
  -- The threshold (feature cosine) the user keeps per tier ('duplicates' | 'similar').
  CREATE TABLE duplicate_thresholds (
    tier       TEXT PRIMARY KEY,
    threshold  REAL NOT NULL
  );
  `,
  /* 5: the duplicate finder's perceptual hash (duplicates/perceptual-hash.ts), by content hash */ `
  CREATE TABLE perceptual_hashes (
    hash   TEXT PRIMARY KEY,
    value  BLOB NOT NULL
  );
  `,
  /* 6: the float embedding a code was made from, where the photo's feature alone cannot give it back */ `
  -- float32 × D; NULL for models that embed each photo from its own feature (exact mode recomputes those).
  ALTER TABLE codes ADD COLUMN embedding BLOB;
  `,
]
