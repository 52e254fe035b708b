// Web mode's folder browser: directories only, `~` expanded, clear errors.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browseFolders, expandHome } from '../src/core/service/folders.ts'

describe('folder browser', () => {
  let home: string
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'lookalike-home-'))
    for (const name of ['Pictures', 'Documents', '.cache', 'photos 10', 'photos 9']) mkdirSync(join(home, name))
    writeFileSync(join(home, 'notes.txt'), 'not a folder')
    writeFileSync(join(home, 'Pictures', 'cat.jpg'), 'not listed')
    mkdirSync(join(home, 'Pictures', '2024'))
  })
  afterAll(() => rmSync(home, { recursive: true, force: true }))

  it('starts at the home folder and lists its visible sub-folders only, in natural order', async () => {
    const listing = await browseFolders(undefined, home)
    expect(listing.path).toBe(home)
    expect(listing.home).toBe(home)
    expect(listing.folders.map((f) => f.name)).toEqual(['Documents', 'photos 9', 'photos 10', 'Pictures'])
    expect(listing.folders[3].path).toBe(join(home, 'Pictures'))
    expect(listing.parent).toBe(join(home, '..'))
  })

  it('goes down and up; files are never listed', async () => {
    const pictures = await browseFolders(join(home, 'Pictures'), home)
    expect(pictures.folders).toEqual([{ name: '2024', path: join(home, 'Pictures', '2024') }])
    expect(pictures.parent).toBe(home)
    expect((await browseFolders('/', home)).parent).toBeNull()
  })

  it('expands ~ and says clearly what is wrong', async () => {
    expect(expandHome('~', home)).toBe(home)
    expect(expandHome('~/Pictures', home)).toBe(join(home, 'Pictures'))
    expect(expandHome('/srv/~x', home)).toBe('/srv/~x')
    expect((await browseFolders('~/Pictures', home)).path).toBe(join(home, 'Pictures'))
    await expect(browseFolders(join(home, 'nope'), home)).rejects.toMatchObject({ code: 'not-found', message: expect.stringMatching(/No such folder/) })
    await expect(browseFolders(join(home, 'notes.txt'), home)).rejects.toMatchObject({ code: 'bad-request', message: expect.stringMatching(/Not a folder/) })
  })
})
