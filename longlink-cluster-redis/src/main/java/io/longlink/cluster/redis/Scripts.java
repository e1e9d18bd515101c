package io.longlink.cluster.redis;

/**
 * The Lua scripts of {@link RedisClusterStore}. Each touches one session's keys only (one hash
 * tag, so one slot on Redis Cluster) and runs atomically. Owner-only writes check the fencing
 * epoch first: 1 done, 0 fenced (another epoch), -1 the session is not in Redis.
 *
 * <p>A session's keys: {@code m} hash (sid, subject, owner, epoch, sent, recv, lost), {@code l}
 * stream of its messages with IDs {@code <seq>-0}, {@code t} set of topics, {@code d} hash of the
 * last seq delivered per origin (idempotent delivery).
 */
final class Scripts {
  private Scripts() {}

  /** KEYS m l t d; ARGV sid subject owner leaseMillis. Returns {epoch, replacedOwner, replacedSid}. */
  static final String CREATE = """
      local prevOwner = redis.call('HGET', KEYS[1], 'owner') or ''
      local prevSid = redis.call('HGET', KEYS[1], 'sid') or ''
      local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
      redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
      redis.call('HSET', KEYS[1], 'sid', ARGV[1], 'subject', ARGV[2], 'owner', ARGV[3], 'sent', 0, 'recv', 0, 'lost', 0)
      redis.call('PEXPIRE', KEYS[1], ARGV[4])
      return {epoch, prevOwner, prevSid}
      """;

  /**
   * KEYS m l t d; ARGV sid owner leaseMillis. Returns {} if no such session, else {epoch, subject,
   * previousOwner, sent, recv, lost, entries, topics}. A claim by another node raises the fencing
   * epoch; a claim by the owner itself (its client reconnected to it) keeps it, so the owner's
   * writes still on their way under that epoch are not refused as if the session had moved.
   */
  static final String CLAIM = """
      if redis.call('HGET', KEYS[1], 'sid') ~= ARGV[1] then return {} end
      local m = redis.call('HMGET', KEYS[1], 'subject', 'owner', 'sent', 'recv', 'lost')
      local epoch
      if m[2] == ARGV[2] then
        epoch = tonumber(redis.call('HGET', KEYS[1], 'epoch'))
      else
        epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)
      end
      redis.call('HSET', KEYS[1], 'owner', ARGV[2])
      for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
      return {epoch, m[1], m[2], m[3], m[4], m[5], redis.call('XRANGE', KEYS[2], '-', '+'), redis.call('SMEMBERS', KEYS[3])}
      """;

  /**
   * Appends a batch of messages to the logs of one or more sessions, in ARGV order. KEYS m l d of
   * each session in turn; ARGV maxLen, then per message (session index from 1, from, kind, target,
   * payload, originField, originSeq). Returns {seq, owner} per message: seq 0 no session, -1
   * duplicate (that origin already delivered that seq or a later one), -2 log full.
   */
  static final String DELIVER = """
      local maxLen = tonumber(ARGV[1])
      local out = {}
      local state = {}
      local i = 2
      while i <= #ARGV do
        local s = tonumber(ARGV[i])
        local m, l = KEYS[3 * s - 2], KEYS[3 * s - 1]
        local st = state[s]
        if not st then
          local h = redis.call('HMGET', m, 'owner', 'lost', 'sent')
          st = {owner = h[1] or '', last = {}, origins = {}}
          if h[1] then
            st.lost = h[2] == '1'
            st.sent = tonumber(h[3] or '0')
            st.sent0 = st.sent
            st.len = redis.call('XLEN', l)
            st.fresh = st.len == 0
          end
          state[s] = st
        end
        local seq = 0
        if st.owner ~= '' then
          local origin = ARGV[i + 5]
          if origin ~= '' then
            local last = st.last[origin]
            if last == nil then
              last = tonumber(redis.call('HGET', KEYS[3 * s], origin) or '0')
              st.last[origin] = last
              st.origins[#st.origins + 1] = origin
            end
            local n = tonumber(ARGV[i + 6])
            if n <= last then
              seq = -1
            else
              st.last[origin] = n
              st.deduped = true
            end
          end
          if seq == 0 then
            if st.lost then
              seq = -2
            elseif st.len >= maxLen then
              st.lost = true
              st.marklost = true
              seq = -2
            else
              st.sent = st.sent + 1
              seq = st.sent
              redis.call('XADD', l, seq .. '-0', 'f', ARGV[i + 1], 'k', ARGV[i + 2], 't', ARGV[i + 3], 'p', ARGV[i + 4])
              st.len = st.len + 1
            end
          end
        end
        out[#out + 1] = seq
        out[#out + 1] = st.owner
        i = i + 7
      end
      -- Each session's counters and last seq per origin are written once per call. A key made here
      -- gets the session's time to live; existing ones have it (every lease renewal sets it on all
      -- of a session's keys), so the usual call sets none.
      for s, st in pairs(state) do
        if st.owner ~= '' then
          local m, l, d = KEYS[3 * s - 2], KEYS[3 * s - 1], KEYS[3 * s]
          if st.sent ~= st.sent0 then redis.call('HSET', m, 'sent', st.sent) end
          if st.marklost then redis.call('HSET', m, 'lost', 1) end
          local made = false
          if st.deduped then
            for _, origin in ipairs(st.origins) do
              if redis.call('HSET', d, origin, st.last[origin]) == 1 then made = true end
            end
          end
          local fresh = st.fresh and st.len > 0
          if fresh or made then
            local ttl = redis.call('PTTL', m)
            if ttl > 0 then
              if fresh then redis.call('PEXPIRE', l, ttl) end
              if made then redis.call('PEXPIRE', d, ttl) end
            end
          end
        end
      end
      return out
      """;

  private static final String FENCE = """
      local e = redis.call('HGET', KEYS[1], 'epoch')
      if not e then return -1 end
      if e ~= ARGV[1] then return 0 end
      """;

  /**
   * The owner's counter writes of one or more sessions, in order: KEYS m l of each in turn; ARGV
   * per session (op, epoch, seq) where op {@code r} raises the received counter to seq and
   * {@code a} trims the log up to seq (the client acknowledged it). Returns per session 1 done,
   * 0 fenced, -1 the session is not in Redis.
   */
  static final String COUNTERS = """
      local out = {}
      for j = 1, #KEYS / 2 do
        local m, l = KEYS[2 * j - 1], KEYS[2 * j]
        local op, epoch, seq = ARGV[3 * j - 2], ARGV[3 * j - 1], ARGV[3 * j]
        local e = redis.call('HGET', m, 'epoch')
        if not e then
          out[j] = -1
        elseif e ~= epoch then
          out[j] = 0
        else
          if op == 'r' then
            if tonumber(redis.call('HGET', m, 'recv')) < tonumber(seq) then redis.call('HSET', m, 'recv', seq) end
          else
            redis.call('XTRIM', l, 'MINID', (tonumber(seq) + 1) .. '-0')
          end
          out[j] = 1
        end
      end
      return out
      """;

  /** KEYS m t; ARGV epoch topic. */
  static final String SUBSCRIBE = FENCE + """
      redis.call('SADD', KEYS[2], ARGV[2])
      return 1
      """;

  /** KEYS m t; ARGV epoch topic. */
  static final String UNSUBSCRIBE = FENCE + """
      redis.call('SREM', KEYS[2], ARGV[2])
      return 1
      """;

  /** KEYS m l t d; ARGV epoch millis. */
  static final String KEEP_FOR = FENCE + """
      for i = 1, 4 do redis.call('PEXPIRE', KEYS[i], ARGV[2]) end
      return 1
      """;

  /** KEYS m l t d; ARGV epoch. */
  static final String END = FENCE + """
      redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
      return 1
      """;

  /**
   * KEYS m l t d; ARGV sid epoch known subject owner sent recv lost leaseMillis ntopics topics... then entries
   * as (seq from kind target payload)... Returns {0} if fenced, else {epoch, renumbered} where
   * renumbered is {{seq, {fields}}...}: what the store numbered after {@code known}, moved after
   * the node's messages.
   */
  static final String RESTORE = """
      local cur = redis.call('HMGET', KEYS[1], 'sid', 'epoch')
      local epoch = tonumber(ARGV[2])
      local extra = {}
      if cur[1] then
        if cur[1] ~= ARGV[1] or tonumber(cur[2]) ~= epoch then return {0} end
        extra = redis.call('XRANGE', KEYS[2], (tonumber(ARGV[3]) + 1) .. '-0', '+')
      elseif epoch < 1 then
        epoch = 1
      end
      redis.call('DEL', KEYS[2], KEYS[3])
      redis.call('HSET', KEYS[1], 'sid', ARGV[1], 'epoch', epoch, 'subject', ARGV[4], 'owner', ARGV[5],
          'recv', ARGV[7], 'lost', ARGV[8])
      local sent = tonumber(ARGV[6])
      local nt = tonumber(ARGV[10])
      for i = 1, nt do redis.call('SADD', KEYS[3], ARGV[10 + i]) end
      local i = 11 + nt
      while i <= #ARGV do
        redis.call('XADD', KEYS[2], ARGV[i] .. '-0', 'f', ARGV[i + 1], 'k', ARGV[i + 2], 't', ARGV[i + 3], 'p', ARGV[i + 4])
        i = i + 5
      end
      local out = {}
      for _, e in ipairs(extra) do
        sent = sent + 1
        redis.call('XADD', KEYS[2], sent .. '-0', unpack(e[2]))
        table.insert(out, {sent, e[2]})
      end
      redis.call('HSET', KEYS[1], 'sent', sent)
      for k = 1, 4 do redis.call('PEXPIRE', KEYS[k], ARGV[9]) end
      return {epoch, out}
      """;

  /** Every script above, loaded into Redis when the store connects. */
  static final java.util.List<String> ALL = java.util.List.of(CREATE, CLAIM, DELIVER, COUNTERS, SUBSCRIBE,
      UNSUBSCRIBE, KEEP_FOR, END, RESTORE);
}
