import { request } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { RateLimit } from '../../server/src/rate-limit.ts'
import { startHarness, TestClient, type Harness } from './harness.ts'

let harness: Harness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

/** A raw HTTP request, so the test can set headers fetch() forbids (Host). */
function raw(url: string, method: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      let body = ''
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode!, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('who may use the server', () => {
  it('refuses a Host header that is not this machine (DNS rebinding)', async () => {
    harness = await startHarness()
    const url = `${harness.server.url}/api/notebooks`
    expect((await raw(url, 'GET', {})).status).toBe(200)
    const rebound = await raw(url, 'GET', { Host: 'attacker.example:4178' })
    expect(rebound.status).toBe(403)
    expect(JSON.parse(rebound.body).error).toMatch(/Host "attacker.example:4178" is not this machine/)
  })

  it('refuses a mutation from another origin, allows it from this one', async () => {
    harness = await startHarness()
    const url = `${harness.server.url}/api/notebooks`
    const foreign = await raw(url, 'POST', { Origin: 'https://evil.example' })
    expect(foreign.status).toBe(403)
    expect(JSON.parse(foreign.body).error).toMatch(/a page from https:\/\/evil.example may not use this server/)
    const own = await raw(url, 'POST', { Origin: harness.server.url })
    expect(own.status).not.toBe(403)
  })

  it('refuses a websocket whose Host is another site', async () => {
    harness = await startHarness()
    await expect(TestClient.connect(harness.server.url, { Host: 'attacker.example' })).rejects.toThrow(/401/)
  })

  it('limits how fast one page can start runs', async () => {
    harness = await startHarness()
    const client = await TestClient.connect(harness.server.url)
    const start = { type: 'run.start', notebook: 'lessons/welcome.md', cell: 'first-lora', config: 'optimizer:\n  lr: -1\n' } as const
    for (let i = 0; i < 61; i++) client.send(start)
    await client.waitFor(() => client.received.filter((m) => m.type === 'run.rejected').length === 61)
    const messages = client.received.flatMap((m) => (m.type === 'run.rejected' ? [m.issues[0].message] : []))
    expect(messages.slice(0, 60).every((m) => m === 'optimizer.lr must be > 0')).toBe(true)
    expect(messages[60]).toBe('too many runs started: at most 60 a minute from one page')
  })
})

describe('RateLimit', () => {
  it('admits at most `limit` events in any window', () => {
    let now = 0
    const limit = new RateLimit(2, 1000, () => now)
    expect([limit.take(), limit.take(), limit.take()]).toEqual([true, true, false])
    now = 999
    expect(limit.take()).toBe(false)
    now = 1000
    expect(limit.take()).toBe(true)
  })
})
