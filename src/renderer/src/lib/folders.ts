// Builds the sidebar's folder tree from the flat list the service returns.

export interface FolderNode {
  name: string
  /** Folder path relative to its root ('' is the root itself). */
  path: string
  /** Photos directly in this folder and below. */
  photos: number
  children: FolderNode[]
}

export function folderTree(folders: { path: string; photos: number }[]): FolderNode {
  const root: FolderNode = { name: '', path: '', photos: 0, children: [] }
  for (const folder of folders) {
    const parts = folder.path.replace(/\\/g, '/').split('/').filter(Boolean)
    let node = root
    node.photos += folder.photos
    for (let i = 0; i < parts.length; i++) {
      const path = parts.slice(0, i + 1).join('/')
      let child = node.children.find((c) => c.path === path)
      if (!child) {
        child = { name: parts[i], path, photos: 0, children: [] }
        node.children.push(child)
      }
      child.photos += folder.photos
      node = child
    }
  }
  const sort = (n: FolderNode) => {
    n.children.sort((a, b) => a.name.localeCompare(b.name))
    n.children.forEach(sort)
  }
  sort(root)
  return root
}
