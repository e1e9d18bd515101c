package io.longlink.cluster.redis;

/**
 * The Lua scripts behind devices and presence (protocol version 3) in {@link RedisClusterStore}.
 * Times are Redis's own clock ({@code TIME}), so the nodes' clocks need not agree.
 *
 * <p>A principal's device list: {@code u:{<principal>}:z}, a sorted set of device session keys
 * scored by when their listing runs out, and {@code u:{<principal>}:h}, a hash of when each was
 * listed. Expired members are dropped by whoever reads the list next.
 *
 * <p>Presence, every key under one hash tag ({@code {<cluster>:presence}}, one slot, so a node's
 * reaping is one atomic script on Redis Cluster too), below the base {@code KEYS[1]}: {@code u:<principal>}
 * hash of device → {@code sessionId|node|since|clientId}; {@code n:<node>} set of
 * {@code principal U+001F device} online on that node; {@code alive} sorted set of nodes scored by
 * when their presence lease runs out; {@code users} hash of principal → online devices;
 * {@code sessions} the count of online devices.
 */
final class DeviceScripts {
  private DeviceScripts() {}

  private static final String NOW = """
      local t = redis.call('TIME')
      local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
      """;

  private static final String PRUNE = NOW + """
      local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
      if #gone > 0 then
        redis.call('ZREM', KEYS[1], unpack(gone))
        redis.call('HDEL', KEYS[2], unpack(gone))
      end
      """;

  /**
   * The device lists of one or more principals: KEYS z h of each in turn. Returns one list of
   * listed keys per principal, in KEYS order.
   */
  static final String DEVICES = NOW + """
      local out = {}
      for j = 1, #KEYS, 2 do
        local gone = redis.call('ZRANGEBYSCORE', KEYS[j], '-inf', now)
        if #gone > 0 then
          redis.call('ZREM', KEYS[j], unpack(gone))
          redis.call('HDEL', KEYS[j + 1], unpack(gone))
        end
        out[#out + 1] = redis.call('ZRANGEBYSCORE', KEYS[j], '(' .. now, '+inf')
      end
      return out
      """;

  /** KEYS z h; ARGV key. Returns {others, oldestKey}. */
  static final String COUNT = PRUNE + """
      local n, oldest, oldestSince = 0, '', nil
      for _, k in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')) do
        if k ~= ARGV[1] then
          n = n + 1
          local since = tonumber(redis.call('HGET', KEYS[2], k) or '0')
          if oldestSince == nil or since < oldestSince then oldest, oldestSince = k, since end
        end
      end
      return {n, oldest}
      """;

  /** KEYS z h; ARGV key since millis. */
  static final String KEEP = NOW + """
      local millis = tonumber(ARGV[3])
      redis.call('ZADD', KEYS[1], now + millis, ARGV[1])
      redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
      for i = 1, 2 do
        if redis.call('PTTL', KEYS[i]) < millis then redis.call('PEXPIRE', KEYS[i], millis) end
      end
      return 1
      """;

  /** KEYS z h; ARGV key. */
  static final String REMOVE = """
      redis.call('ZREM', KEYS[1], ARGV[1])
      redis.call('HDEL', KEYS[2], ARGV[1])
      return 1
      """;

  /** KEYS m l t d of a session. Returns {} if none, else {sid, owner}; the session is gone. */
  static final String EVICT = """
      local sid = redis.call('HGET', KEYS[1], 'sid')
      if not sid then return {} end
      local owner = redis.call('HGET', KEYS[1], 'owner') or ''
      redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
      return {sid, owner}
      """;

  private static final String PRESENCE_LIB = NOW + """
      local base = KEYS[1]
      local sep = string.char(31)
      local function parse(v)
        local sid, node, since, cid = string.match(v, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
        return sid, node, since, cid
      end
      local function gone(p)
        local n = redis.call('HINCRBY', base .. 'users', p, -1)
        if n <= 0 then redis.call('HDEL', base .. 'users', p) end
        redis.call('DECR', base .. 'sessions')
      end
      """;

  /** KEYS base; ARGV principal device sid node since leaseMillis clientId. Returns 1 if newly online. */
  static final String ONLINE = PRESENCE_LIB + """
      local u = base .. 'u:' .. ARGV[1]
      local member = ARGV[1] .. sep .. ARGV[2]
      local prev = redis.call('HGET', u, ARGV[2])
      local since = ARGV[5]
      if prev then
        local _, pnode, psince = parse(prev)
        redis.call('SREM', base .. 'n:' .. pnode, member)
        since = psince
      end
      redis.call('HSET', u, ARGV[2], ARGV[3] .. '|' .. ARGV[4] .. '|' .. since .. '|' .. ARGV[7])
      redis.call('SADD', base .. 'n:' .. ARGV[4], member)
      redis.call('ZADD', base .. 'alive', now + tonumber(ARGV[6]), ARGV[4])
      if prev then return 0 end
      redis.call('HINCRBY', base .. 'users', ARGV[1], 1)
      redis.call('INCR', base .. 'sessions')
      return 1
      """;

  /** KEYS base; ARGV principal device sid node. Returns 1 if it was that session's presence (now gone). */
  static final String OFFLINE = PRESENCE_LIB + """
      local u = base .. 'u:' .. ARGV[1]
      local prev = redis.call('HGET', u, ARGV[2])
      if not prev then return 0 end
      local sid, node = parse(prev)
      if sid ~= ARGV[3] or node ~= ARGV[4] then return 0 end
      redis.call('HDEL', u, ARGV[2])
      redis.call('SREM', base .. 'n:' .. node, ARGV[1] .. sep .. ARGV[2])
      gone(ARGV[1])
      return 1
      """;

  /**
   * KEYS base; ARGV node leaseMillis. Renews the node's lease; takes the presence of nodes whose
   * lease ran out. Returns {principal, device, value}... of what it took.
   */
  static final String RENEW = PRESENCE_LIB + """
      redis.call('ZADD', base .. 'alive', now + tonumber(ARGV[2]), ARGV[1])
      local out = {}
      for _, dead in ipairs(redis.call('ZRANGEBYSCORE', base .. 'alive', '-inf', now)) do
        for _, m in ipairs(redis.call('SMEMBERS', base .. 'n:' .. dead)) do
          local i = string.find(m, sep, 1, true)
          local p, device = string.sub(m, 1, i - 1), string.sub(m, i + 1)
          local u = base .. 'u:' .. p
          local v = redis.call('HGET', u, device)
          if v then
            local _, node = parse(v)
            if node == dead then
              redis.call('HDEL', u, device)
              gone(p)
              table.insert(out, p)
              table.insert(out, device)
              table.insert(out, v)
            end
          end
        end
        redis.call('DEL', base .. 'n:' .. dead)
        redis.call('ZREM', base .. 'alive', dead)
      end
      return out
      """;

  /** Every script above, loaded into Redis when the store connects. */
  static final java.util.List<String> ALL = java.util.List.of(DEVICES, COUNT, KEEP, REMOVE, EVICT, ONLINE, OFFLINE, RENEW);
}
