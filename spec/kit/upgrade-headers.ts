/** A WebSocket handshake's request headers as a client sends them (RFC 6455's sample key). */
export const UPGRADE_HEADERS: Record<string, string> = {
  upgrade: 'websocket',
  connection: 'Upgrade',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'sec-websocket-version': '13',
}
