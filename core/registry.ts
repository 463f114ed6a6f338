/**
 * A typed service registry so plugins can use each other's capabilities without importing
 * each other: the provider registers under a key, a consumer looks the key up. Keys are
 * declared next to the capability's interface: in the provider's `contract.ts` (the commands
 * section's runner), or in core when every section shares it (the interrupt hub).
 */
export class ServiceKey<T> {
  declare readonly _type: T
  constructor(readonly name: string) {}
}

export class Registry {
  private readonly services = new Map<ServiceKey<unknown>, unknown>()

  provide<T>(key: ServiceKey<T>, impl: T): void {
    if (this.services.has(key)) throw new Error(`service ${key.name} is provided twice`)
    this.services.set(key, impl)
  }

  get<T>(key: ServiceKey<T>): T | undefined {
    return this.services.get(key) as T | undefined
  }

  require<T>(key: ServiceKey<T>): T {
    const impl = this.get(key)
    if (!impl) throw new Error(`service ${key.name} is not provided (is its plugin in plugins/index.ts?)`)
    return impl
  }
}
