// WebSocket /events: every LibraryEvent, as JSON text, to every authorised page.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import type { LookalikeService } from '../core/service/calls.ts'

const HEARTBEAT_MS = 30_000

export interface EventSocket {
  /** Completes an already authorised upgrade. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer): void
  close(): void
}

export function createEventSocket(service: LookalikeService): EventSocket {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4096 })
  const alive = new WeakSet<WebSocket>()
  const unsubscribe = service.onEvent((event) => {
    const text = JSON.stringify(event)
    for (const client of wss.clients) if (client.readyState === client.OPEN) client.send(text)
  })
  // Drops sockets whose peer vanished without a close frame (sleeping laptops, dropped Wi-Fi).
  const heartbeat = setInterval(() => {
    for (const client of wss.clients) {
      if (!alive.has(client)) client.terminate()
      else {
        alive.delete(client)
        client.ping()
      }
    }
  }, HEARTBEAT_MS)
  heartbeat.unref()
  wss.on('connection', (client) => {
    alive.add(client)
    client.on('pong', () => alive.add(client))
    // The channel is one-way; the page has nothing to say.
    client.on('message', () => client.close(1003, 'events only'))
    client.on('error', () => client.terminate())
  })
  return {
    accept(req, socket, head) {
      wss.handleUpgrade(req, socket, head, (client) => wss.emit('connection', client, req))
    },
    close() {
      clearInterval(heartbeat)
      unsubscribe()
      for (const client of wss.clients) client.terminate()
      wss.close()
    },
  }
}
