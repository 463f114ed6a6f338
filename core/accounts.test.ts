import { expect, test } from 'bun:test'
import { groups, users } from './accounts'

test('users and groups by id and by name, read once while the files stay as they are', () => {
  expect(users().byId.get(0)).toMatchObject({ name: 'root', id: 0, gid: 0 })
  expect(users().byName.get('root')?.home).toBe('/root')
  expect(groups().byName.get('root')?.id).toBe(0)
  // The same table while /etc/passwd is unchanged: no read and split per command.
  expect(users()).toBe(users())
})
