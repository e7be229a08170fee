// validate-npm-package-name 6 ships no types (a CommonJS function).
declare module 'validate-npm-package-name' {
  interface Result {
    validForNewPackages: boolean
    validForOldPackages: boolean
    warnings?: string[]
    errors?: string[]
  }
  function validate(name: string): Result
  export default validate
}
