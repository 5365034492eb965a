// Who may talk to this server. It holds the user's files and GPU, so a web
// page on another site must not be able to drive it: not by a cross-site
// request (the Origin is checked on every websocket and every mutation), and
// not by DNS rebinding, where another site's name resolves to 127.0.0.1 (on
// loopback, the Host header must name loopback too).
import type { IncomingMessage } from 'node:http'
import type { NextFunction, Request, Response } from 'express'

const LOOPBACK_NAMES = new Set(['127.0.0.1', 'localhost', '[::1]', '::1'])
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export function isLoopback(host: string): boolean {
  return LOOPBACK_NAMES.has(host) || host.startsWith('127.')
}

const hostname = (hostHeader: string) => (hostHeader.startsWith('[') ? hostHeader.slice(0, hostHeader.indexOf(']') + 1) : hostHeader.split(':')[0])

export class Guard {
  /** `boundHost`: the address the server listens on; a loopback bind admits loopback Host headers only. */
  constructor(private boundHost: string) {}

  /** Why this request is refused, or undefined when it may proceed. */
  refusal(req: IncomingMessage, mutating: boolean): string | undefined {
    const host = req.headers.host ?? ''
    if (isLoopback(this.boundHost) && !isLoopback(hostname(host))) {
      return `refused: Host "${host.slice(0, 100)}" is not this machine (tunebook listens on ${this.boundHost} only)`
    }
    const origin = req.headers.origin
    if (mutating && origin !== undefined) {
      let originHost: string
      try {
        originHost = new URL(origin).host
      } catch {
        return `refused: malformed Origin "${origin.slice(0, 100)}"`
      }
      if (originHost !== host) return `refused: a page from ${origin.slice(0, 100)} may not use this server`
    }
    return undefined
  }

  /** Express middleware: reads from any page on this host; writes only from this origin. */
  http = (req: Request, res: Response, next: NextFunction) => {
    const refusal = this.refusal(req, !SAFE_METHODS.has(req.method))
    if (refusal) return void res.status(403).json({ error: refusal })
    next()
  }

  /** A websocket can start runs and read them: it is always treated as mutating. */
  websocket = ({ req }: { req: IncomingMessage }) => this.refusal(req, true) === undefined
}
