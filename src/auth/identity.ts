// Where user names and passwords are checked: an htpasswd file or the built-in user table.

export interface IdentityProvider {
  /** True when the password is right. Slow on purpose (bcrypt): callers cache successes. */
  verify(user: string, password: string): Promise<boolean>;
  /** Called when the provider's data changed, so cached verifications must be dropped. */
  onChange(listener: () => void): void;
  close(): void;
}
